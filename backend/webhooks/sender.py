"""One HTTP attempt: a signed POST, no redirects followed, only 2xx a success, a readable error."""

import socket
import ssl
import time
from dataclasses import dataclass

import requests
from urllib3.exceptions import NameResolutionError

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
    session: requests.Session, *, url: str, secret: str, message_id: str, body: str, timeout: float
) -> Outcome:
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        **signed_headers(secret, message_id, body),
    }
    started = time.perf_counter()
    try:
        with session.post(
            url,
            data=body.encode(),
            headers=headers,
            timeout=timeout,
            allow_redirects=False,
            stream=True,
        ) as response:
            excerpt = next(response.iter_content(EXCERPT_BYTES), b"")[:EXCERPT_BYTES]
    except requests.RequestException as exc:
        return Outcome(
            ok=False, duration_ms=_ms_since(started), error=describe(exc, url=url, timeout=timeout)
        )
    code = response.status_code
    if 200 <= code < 300:
        error = ""
    elif 300 <= code < 400:
        location = response.headers.get("Location", "")
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


def describe(exc: requests.RequestException, *, url: str, timeout: float) -> str:
    """What went wrong, for people: the kinds that matter, then the library's words."""
    causes = list(_chain(exc))
    blocked = next((c for c in causes if isinstance(c, BlockedTarget)), None)
    if blocked is not None:
        return f"Refused: {str(blocked).split(': ', 1)[-1]}"
    if isinstance(exc, requests.ConnectTimeout):
        return f"Timed out after {timeout:g} s connecting to {url}."
    if isinstance(exc, requests.Timeout):
        return f"Timed out after {timeout:g} s waiting for an answer from {url}."
    if any(isinstance(c, NameResolutionError | socket.gaierror) for c in causes):
        return f"DNS lookup failed: the host of {url} was not found."
    if any(isinstance(c, ConnectionRefusedError) for c in causes):
        return f"Connection refused by {url} (is the receiver running?)."
    if isinstance(exc, requests.exceptions.SSLError) or any(
        isinstance(c, ssl.SSLError) for c in causes
    ):
        return f"TLS error talking to {url}: {causes[-1]}"
    if isinstance(exc, requests.ConnectionError):
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
