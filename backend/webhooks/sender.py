"""One HTTP attempt: a signed POST, no redirects followed, only 2xx a success, a readable error."""

import socket
import ssl
import time
from dataclasses import dataclass

from urllib3 import PoolManager
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)

from .guard import BlockedTarget
from .signing import signed_headers

EXCERPT_BYTES = 2048
USER_AGENT = "ProductImporter-Webhooks/1.0"


@dataclass(frozen=True)
class Outcome:
    ok: bool
    # False when nothing was sent (the URL is paused as unreachable, or the webhook is disabled).
    sent: bool = True
    # True when the receiver answered at all, whatever the status.
    answered: bool = False
    status_code: int | None = None
    duration_ms: int | None = None
    error: str = ""
    response_excerpt: str = ""


def send(
    pool: PoolManager, *, url: str, secret: str, message_id: str, body: str, timeout: float
) -> Outcome:
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        **signed_headers(secret, message_id, body),
    }
    started = time.perf_counter()
    try:
        response = pool.request(
            "POST",
            url,
            body=body.encode(),
            headers=headers,
            timeout=timeout,
            redirect=False,
            retries=False,
            preload_content=False,
        )
        try:
            excerpt = response.read(EXCERPT_BYTES)
            if response.read(1):  # a longer answer is not read: its connection is dropped
                response.close()
        finally:
            response.release_conn()
    except HTTPError as exc:
        return Outcome(
            ok=False, duration_ms=_ms_since(started), error=describe(exc, url=url, timeout=timeout)
        )
    code = response.status
    if 200 <= code < 300:
        error = ""
    elif 300 <= code < 400:
        location = response.headers.get("Location") or ""
        error = f"HTTP {code}: redirects are not followed (Location: {location[:200] or 'none'})."
    else:
        error = f"HTTP {code} {response.reason or ''}".strip()
    return Outcome(
        ok=not error,
        answered=True,
        status_code=code,
        duration_ms=_ms_since(started),
        error=error,
        response_excerpt=excerpt.decode("utf-8", errors="replace"),
    )


def _ms_since(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)


def describe(exc: HTTPError, *, url: str, timeout: float) -> str:
    """What went wrong, for people: the kinds that matter, then the library's words."""
    causes = list(_chain(exc))
    blocked = next((c for c in causes if isinstance(c, BlockedTarget)), None)
    if blocked is not None:
        return f"Refused: {str(blocked).split(': ', 1)[-1]}"
    if any(isinstance(c, NameResolutionError | socket.gaierror) for c in causes):
        return f"DNS lookup failed: the host of {url} was not found."
    if any(isinstance(c, ConnectionRefusedError) for c in causes):
        return f"Connection refused by {url} (is the receiver running?)."
    # urllib3's NewConnectionError is a ConnectTimeoutError too, for compatibility.
    if isinstance(exc, ConnectTimeoutError) and not isinstance(exc, NewConnectionError):
        return f"Timed out after {timeout:g} s connecting to {url}."
    if isinstance(exc, ReadTimeoutError):
        return f"Timed out after {timeout:g} s waiting for an answer from {url}."
    if any(isinstance(c, SSLError | ssl.SSLError) for c in causes):
        return f"TLS error talking to {url}: {causes[-1]}"
    if isinstance(exc, NewConnectionError | ProtocolError):
        return f"Could not connect to {url}: {causes[-1]}"
    return f"The request failed: {exc}"


def _chain(exc: BaseException) -> "list[BaseException]":
    """The exception, what it wraps (urllib3's `reason`) and what caused each, in order."""
    seen: list[BaseException] = []
    pending: list[BaseException] = [exc]
    while pending:
        current = pending.pop(0)
        if current in seen:
            continue
        seen.append(current)
        for nested in (
            getattr(current, "reason", None),
            *(a for a in current.args if isinstance(a, BaseException)),
            current.__cause__,
            current.__context__,
        ):
            if isinstance(nested, BaseException):
                pending.append(nested)
    return seen
