"""Views every app shares: the health check and JSON answers for unknown API paths."""

import redis
from django.conf import settings
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from django.views.decorators.http import require_GET


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


def api_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """JSON under /api/, Django's page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception or Http404())


def api_server_error(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"detail": "Internal server error."}, status=500)
