"""Error answers under /api/ are JSON, whatever view or middleware gave them."""

import json
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from rest_framework.response import Response


class ApiErrorsAsJson:
    """The net under the error views of `core.views`: an error that a Django view answered with
    a page of its own (a 405 from the browsable API's login and logout views, say) becomes
    `{"detail": "..."}` under /api/, its status and headers kept.

    DRF's responses are left alone: they are JSON already, or the browsable API's HTML that a
    browser asked for. So is Django's debug page of a 500 (DEBUG only).
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
        return as_json(request, self.get_response(request))

    async def _acall(self, request: HttpRequest) -> HttpResponseBase:
        return as_json(request, await self.get_response(request))


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
