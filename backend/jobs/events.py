"""Live job progress as Server-Sent Events, without a thread per client.

Django runs a request's synchronous middleware in a thread reserved for that request until its
response ends, so a stream served by a Django view would hold a thread for as long as someone
watches. This small ASGI app serves `GET /api/job/<uuid>/events/` beside Django instead
(`product_importer.asgi` routes to it): it authenticates and reads the job once through the
status view (same auth, errors and JSON as `/api/job/<uuid>/status/`) in a borrowed thread, then
polls the job row over an asyncio PostgreSQL pool and sends the job's JSON whenever it changes,
until the job has ended. A client that reconnects gets the current state first.
"""

import asyncio
import io
import json
import logging
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from importlib import import_module
from typing import Any

import psycopg
from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib import auth
from django.core.handlers.asgi import ASGIRequest
from django.db import connection
from django.http import HttpRequest
from drf_spectacular.utils import extend_schema
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from core.db import drop_dead_pooled_connections, psycopg_params
from core.schema import event_stream

from . import lifecycle
from .models import Job
from .serializers import JobSerializer
from .views import JobStatusView

logger = logging.getLogger(__name__)

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[Mapping[str, Any]]]
Send = Callable[[Mapping[str, Any]], Awaitable[None]]

EVENTS_PATH = re.compile(r"/api/job/(?P<pk>[0-9a-fA-F-]{36})/events/")
POLL_SECONDS = 0.5
KEEPALIVE_SECONDS = 15
# EventSource reconnects this many milliseconds after a dropped stream.
RETRY_MS = 1000
HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),  # nginx: pass events through as they come
]

_pool: AsyncConnectionPool | None = None


def event(data: object) -> bytes:
    return f"data: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


class EventStreamRenderer(BaseRenderer):
    """One event: what a server without the ASGI stream answers (EventSource then polls)."""

    media_type = "text/event-stream"
    format = "sse"

    def render(self, data: Any, *args: object, **kwargs: object) -> bytes:
        return f"retry: {RETRY_MS}\n".encode() + event(data)


class FirstRenderer(BaseContentNegotiation):
    """Answer with the view's one renderer whatever the client accepts (EventSource asks for
    text/event-stream, curl for anything)."""

    def select_parser(self, request: Request, parsers: Iterable[BaseParser]) -> BaseParser | None:
        return next(iter(parsers), None)

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderer = next(iter(renderers))
        return renderer, renderer.media_type


@extend_schema(
    responses={
        (200, "text/event-stream"): event_stream(
            "The job as JSON, as `/api/job/<id>/status/` answers it; sent again on each change."
        )
    }
)
class JobEventsView(JobStatusView):
    """The job as Server-Sent Events until it ends.

    Under ASGI the stream is served by `job_events`; this view is what other servers (and the
    schema) see: one event with the job, after which EventSource reconnects, so it polls.
    """

    renderer_classes = [EventStreamRenderer]
    content_negotiation_class = FirstRenderer


async def job_events(scope: Scope, receive: Receive, send: Send) -> None:
    """The ASGI app of the stream; `scope["path"]` matches EVENTS_PATH."""
    match = EVENTS_PATH.fullmatch(scope["path"])
    assert match is not None
    request = ASGIRequest(scope, io.BytesIO())
    response = await sync_to_async(_first_answer, thread_sensitive=False)(request, match["pk"])
    if response.status_code != 200:
        await _send_whole(send, response)
        return
    disconnected = asyncio.ensure_future(_disconnect(receive))
    try:
        await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
        await send(_chunk(EventStreamRenderer().render(response.data)))
        await _follow(request, match["pk"], response.data, send, disconnected)
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    finally:
        disconnected.cancel()


def _first_answer(request: HttpRequest, pk: str) -> Response:
    """The status view's answer, with the session and user set as Django's middleware would."""
    drop_dead_pooled_connections()  # as the middleware does for Django's own requests
    engine = import_module(settings.SESSION_ENGINE)
    request.session = engine.SessionStore(request.COOKIES.get(settings.SESSION_COOKIE_NAME))
    request.user = auth.get_user(request)
    try:
        view = JobStatusView.as_view(
            renderer_classes=[JSONRenderer], content_negotiation_class=FirstRenderer
        )
        response: Response = view(request, pk=pk)
        response.render()
        return response
    finally:
        connection.close()  # back to the pool: this thread serves others next


async def _follow(
    request: HttpRequest,
    pk: str,
    last: dict[str, Any],
    send: Send,
    disconnected: asyncio.Future[None],
) -> None:
    """Send the job each time it changes, until it ends or the client goes."""
    quiet_since = asyncio.get_running_loop().time()
    while last["status"] in (Job.Status.PENDING, Job.Status.PROCESSING):
        await asyncio.wait([disconnected], timeout=POLL_SECONDS)
        if disconnected.done():
            return
        try:
            job = await _read_job(pk)
        except psycopg.OperationalError as exc:
            # The database is away (restarting, say): the stream waits for it, as the job does.
            logger.info("job %s events: the database is away: %s", pk, exc)
            continue
        if job is None:  # deleted meanwhile
            return
        if _heartbeat_lost(job):
            await sync_to_async(_fail_dead_jobs, thread_sensitive=False)()
            continue
        state = JobSerializer(job, context={"request": request}).data
        now = asyncio.get_running_loop().time()
        if state != last:
            await send(_chunk(event(state)))
            last, quiet_since = state, now
        elif now - quiet_since > KEEPALIVE_SECONDS:
            await send(_chunk(b": keep-alive\n\n"))  # proxies close silent connections
            quiet_since = now


async def _read_job(pk: str) -> Job | None:
    global _pool
    if _pool is None:
        # Each connection is checked as it leaves the pool: after a database restart, a dead
        # one is replaced, not handed to the stream.
        _pool = AsyncConnectionPool(
            kwargs=psycopg_params(),
            min_size=1,
            max_size=4,
            open=False,
            check=AsyncConnectionPool.check_connection,
        )
        await _pool.open()
    async with _pool.connection() as conn:
        cursor = conn.cursor(row_factory=dict_row)
        await cursor.execute("SELECT * FROM imports_job WHERE id = %s", [pk])
        row = await cursor.fetchone()
    return Job(**row) if row else None


def _heartbeat_lost(job: Job) -> bool:
    return (
        job.status == Job.Status.PROCESSING
        and job.heartbeat_at is not None
        and job.heartbeat_at < lifecycle.heartbeat_cutoff()
    )


def _fail_dead_jobs() -> None:
    try:
        lifecycle.fail_dead_jobs()
    finally:
        connection.close()


async def _disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


def _chunk(body: bytes) -> dict[str, Any]:
    return {"type": "http.response.body", "body": body, "more_body": True}


async def _send_whole(send: Send, response: Response) -> None:
    headers = [(k.lower().encode(), v.encode()) for k, v in response.items()]
    await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": response.content})
