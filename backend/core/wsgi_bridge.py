"""Django's WSGI handler under the ASGI server: one thread hop per request, not one per
middleware.

Django's ASGI handler runs each synchronous middleware and view through `sync_to_async`, a
handover to a thread and back for each of them, on every request: that costs more CPU than the
view itself for most of the API's requests. `serve_wsgi` hands the whole request to Django's
WSGI handler in one thread of a pool of `threads` (a2wsgi's `WSGIMiddleware`) instead.

The request's body is read whole in the event loop first, as Django's ASGI handler does, so
that a slow client never holds a thread while it sends: the body limits in front
(`core.body_limits`) have bounded it by then, and a client that went away (or whose body went
over its limit) never reaches Django at all. A chunked body gets the `Content-Length` that WSGI
needs to read it. What may be long (an upload, which Django spools to disk, and the export's
stream) stays on Django's ASGI handler (`product_importer.asgi`), and so does the live job
stream, an ASGI app of its own.
"""

from __future__ import annotations

from a2wsgi import WSGIMiddleware
from django.core.handlers.wsgi import WSGIHandler

from .body_limits import ASGIApp, Message, Receive, Scope, Send


def serve_wsgi(app: WSGIHandler, *, threads: int) -> ASGIApp:
    """An ASGI app that serves HTTP requests with Django's WSGI `app`, in a pool of `threads`."""
    bridge = WSGIMiddleware(app, workers=threads)  # type: ignore[arg-type]  # a response iterates

    async def serve(scope: Scope, receive: Receive, send: Send) -> None:
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # gone, or over its body limit (the limit answers it): nothing to do
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if body and not any(name == b"content-length" for name, _ in scope["headers"]):
            headers = [(n, v) for n, v in scope["headers"] if n != b"transfer-encoding"]
            scope = {**scope, "headers": [*headers, (b"content-length", b"%d" % len(body))]}
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()  # only the disconnect is left to come
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await bridge(scope, replay, send)  # type: ignore[arg-type]

    return serve
