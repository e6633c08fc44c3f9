"""Error answers under /api/ are JSON, whatever view or middleware gave them; and the database
work of a request is bounded in time, its faults answered in words."""

import json
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from rest_framework.response import Response

from .db import bounded_statements, drop_dead_pooled_connections, pool_check_due


class ApiErrorsAsJson:
    """The net under the error views of `core.views`: an error that a Django view answered with
    a page of its own (a 405 from the browsable API's login and logout views, say) becomes
    `{"detail": "..."}` under /api/, its status and headers kept.

    DRF's responses are left alone: they are JSON already, or the browsable API's HTML that a
    browser asked for. So is Django's debug page of a 500 (DEBUG only).

    As the one middleware around every request, it also keeps the request's database faults
    short: the pool's dead connections are dropped first (`drop_dead_pooled_connections`), each
    statement is bounded by API_STATEMENT_TIMEOUT (`bounded_statements`), and a database that
    is away or a statement it stopped is a 503 with words and `Retry-After` (`core.views`'s
    500 handler, for what is not DRF's; DRF's views answer it in `core.exceptions`).
    """

    sync_capable = True
    async_capable = True  # no thread of its own under ASGI: it only rewrites a response

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if iscoroutinefunction(self):
            return self._acall(request)
        drop_dead_pooled_connections()
        with bounded_statements(settings.API_STATEMENT_TIMEOUT):
            response = self.get_response(request)
        return as_json(request, response)

    async def _acall(self, request: HttpRequest) -> HttpResponseBase:
        if pool_check_due():  # rare: a thread only then
            await sync_to_async(drop_dead_pooled_connections)()
        with bounded_statements(settings.API_STATEMENT_TIMEOUT):
            response = await self.get_response(request)
        return as_json(request, response)


def as_json(request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
    """`response`, its page turned into `{"detail": "..."}` if it is an error of that kind."""
    if (
        response.status_code >= 400
        and request.path.startswith("/api/")
        and isinstance(response, HttpResponse)
        and not isinstance(response, Response)
        and not response.get("Content-Type", "").startswith("application/json")
        and not (settings.DEBUG and response.status_code >= 500)
    ):
        if response.status_code == 405:
            detail = f'Method "{request.method}" not allowed.'
        else:
            detail = f"{HTTPStatus(response.status_code).phrase}."
        response.content = json.dumps({"detail": detail}).encode()
        response["Content-Type"] = "application/json"
        if response.has_header("Content-Length"):
            response["Content-Length"] = str(len(response.content))
    return response
