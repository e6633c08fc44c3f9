"""Request bodies held to their limits as they arrive, in front of Django (an ASGI middleware).

Django's ASGI handler reads a request's whole body, into a temporary file beyond
FILE_UPLOAD_MAX_MEMORY_SIZE, before any middleware or view runs: a limit checked in Django comes
after the bytes have landed on disk. `limit_bodies` wraps the ASGI application instead
(`product_importer.asgi`) and counts the body's bytes as the server hands them on, whether the
client sent a `Content-Length` or a chunked body. Once they pass the limit, Django is told the
client went away (it drops what it spooled, which is at most the limit) and the client gets a
JSON `413`. A `Content-Length` over the limit is refused before a byte is read. The limit of an
upload is MAX_UPLOAD_BYTES; that of any other body MAX_BODY_BYTES.

An upload's sender must be signed in before its body is read: its token or session is checked
here, with the API's authentication classes (the CSRF check aside, which needs the body and
which Django still makes), and anyone else gets the API's `401` at once. Django authenticates
the request again, and checks its permissions, once the body is in.

A refusal closes the connection, so the server reads nothing more of the body. Clients that read
the answer once the server stops taking their body (curl, which also waits for `100 Continue`
before a large body, browsers, Python's requests) get it; one that insists on sending all of its
body first sees the connection closed instead.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Awaitable, Callable, Collection, Mapping
from importlib import import_module
from typing import Any, cast

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib import auth
from django.core.handlers.asgi import ASGIRequest
from django.db import connection
from rest_framework.authentication import BaseAuthentication, SessionAuthentication
from rest_framework.exceptions import AuthenticationFailed, NotAuthenticated
from rest_framework.request import Request
from rest_framework.settings import api_settings

Scope = dict[str, Any]
Message = Mapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

logger = logging.getLogger(__name__)


def limit_bodies(app: ASGIApp, *, upload_paths: Collection[str]) -> ASGIApp:
    """`app` behind the body limits; a request to one of `upload_paths` is an upload."""

    async def limited(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        upload = scope["path"] in upload_paths
        limit: int = settings.MAX_UPLOAD_BYTES if upload else settings.MAX_BODY_BYTES
        what = "The upload" if upload else "The request body"
        if upload:
            refusal = await sync_to_async(_sign_in_refusal, thread_sensitive=False)(scope)
            if refusal is not None:
                await _answer(send, 401, refusal[0], [(b"www-authenticate", refusal[1].encode())])
                return
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            _log_refusal(scope, limit)
            await _answer(send, 413, f"{what} is {declared:,} bytes; the limit is {limit:,}.")
            return
        body = CountedBody(receive, limit)
        started = False

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        await app(scope, body.receive, watched_send)
        if body.over_limit and not started:
            _log_refusal(scope, limit)
            await _answer(send, 413, f"{what} is larger than the limit of {limit:,} bytes.")

    return limited


class CountedBody:
    """The request's `receive`, counting body bytes; past `limit`, the client "disconnects"."""

    def __init__(self, receive: Receive, limit: int) -> None:
        self._receive = receive
        self._limit = limit
        self.received = 0
        self.over_limit = False

    async def receive(self) -> Message:
        if self.over_limit:
            return {"type": "http.disconnect"}
        message = await self._receive()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self._limit:
                self.over_limit = True  # this message, the one past the limit, is not passed on
                return {"type": "http.disconnect"}
        return message


def _sign_in_refusal(scope: Scope) -> tuple[str, str] | None:
    """None if the request carries a valid token or session; else the 401's words and its
    WWW-Authenticate header, as the API would answer them."""
    request = ASGIRequest(scope, io.BytesIO())  # the headers alone: the body stays unread
    classes = cast(list[type[BaseAuthentication]], api_settings.DEFAULT_AUTHENTICATION_CLASSES)
    authenticators = [cls() for cls in classes]
    # The header DRF answers a 401 with: the first authenticator's (Token).
    challenge = authenticators[0].authenticate_header(Request(request)) or "Token"
    try:
        for authenticator in authenticators:
            if isinstance(authenticator, SessionAuthentication):
                engine = import_module(settings.SESSION_ENGINE)
                cookie = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
                if cookie is None:
                    continue
                request.session = engine.SessionStore(cookie)
                user = auth.get_user(request)
                if user.is_active:
                    return None
            elif authenticator.authenticate(Request(request)) is not None:
                return None
    except AuthenticationFailed as exc:
        return str(exc.detail), challenge
    finally:
        connection.close()  # back to the pool: this thread serves others next
    return str(NotAuthenticated.default_detail), challenge


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server refuses a malformed one before the app sees it
    return None


async def _answer(
    send: Send, status: int, detail: str, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    """A JSON answer, closing the connection: what is left of the body is never read."""
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _log_refusal(scope: Scope, limit: int) -> None:
    client = (scope.get("client") or ("?", 0))[0]
    logger.info(
        "%s %s from %s: body over %s bytes refused", scope["method"], scope["path"], client, limit
    )
