"""Views every app shares: the health check, and Django's own error pages (400, 403, CSRF
failure, 404, 500), which answer JSON under /api/ and keep Django's pages elsewhere."""

import sys

import redis
from django.conf import settings
from django.core.exceptions import (
    DisallowedHost,
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import csrf, defaults
from django.views.decorators.http import require_GET

from .exceptions import database_fault


def _check_database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # any failure means "down"; the message says which
        return f"database: {exc.__class__.__name__}: {exc}".strip()
    return None


def _check_broker() -> str | None:
    try:
        client = redis.Redis.from_url(
            settings.CELERY_BROKER_URL, socket_connect_timeout=2, socket_timeout=2
        )
        client.ping()
        client.close()
    except Exception as exc:
        return f"broker: {exc.__class__.__name__}: {exc}".strip()
    return None


@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """200 when the database and the broker answer; 503 naming what is down."""
    problems = [p for p in (_check_database(), _check_broker()) if p]
    if problems:
        return JsonResponse({"status": "unavailable", "detail": "; ".join(problems)}, status=503)
    return JsonResponse({"status": "ok", "database": "ok", "broker": "ok"})


def is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def api_bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Django's 400s (a SuspiciousOperation): JSON with words under /api/; a body over Django's
    own DATA_UPLOAD_MAX_MEMORY_SIZE is a 413 there."""
    if not is_api(request):
        return defaults.bad_request(request, exception)
    if isinstance(exception, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        detail = f"The request's form fields are larger than the limit of {limit:,} bytes."
        return JsonResponse({"detail": detail}, status=413)
    if isinstance(exception, DisallowedHost):
        detail = "Bad request: this site does not answer to that Host header."
    elif isinstance(exception, TooManyFieldsSent | TooManyFilesSent):
        detail = "Bad request: the form has too many fields or files."
    else:
        detail = "Bad request: the server refused it as malformed or unsafe."
    return JsonResponse({"detail": detail}, status=400)


def api_permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if not is_api(request):
        return defaults.permission_denied(request, exception)
    return JsonResponse(
        {"detail": "You do not have permission to perform this action."}, status=403
    )


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: DRF's words under /api/ (where DRF's own views check CSRF too)."""
    if not is_api(request):
        return csrf.csrf_failure(request, reason)
    return JsonResponse({"detail": f"CSRF Failed: {reason}"}, status=403)


def api_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """JSON under /api/, Django's page elsewhere."""
    if is_api(request):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception or Http404())


def api_server_error(request: HttpRequest) -> HttpResponse:
    """A 500 as JSON; but a database that is away, or a statement it stopped, is a 503 in words
    (`core.exceptions.database_fault`), wherever it was raised: a view that is not DRF's (the
    admin), or a middleware (saving the session). DRF's views answer it in their handler."""
    error = sys.exc_info()[1]
    fault = database_fault(error) if error is not None else None
    if fault is None:
        return JsonResponse({"detail": "Internal server error."}, status=500)
    if is_api(request):
        return JsonResponse({"detail": fault.detail}, status=503, headers=fault.headers)
    return HttpResponse(fault.detail, content_type="text/plain", status=503, headers=fault.headers)
