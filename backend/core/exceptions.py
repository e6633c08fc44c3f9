"""One error shape for the whole API: `{"detail": "..."}` or DRF's field map."""

from typing import Any

from django.db import DataError
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus a 400 for input the database itself refuses.

    Serializers validate lengths, NUL bytes and uniqueness first; `DataError` is the safety net for
    a value that slips past them (for example through a query parameter), so it never becomes a 500.
    """
    if isinstance(exc, DataError):
        return Response(
            {"detail": "The database refused a value: check its length and characters."},
            status=status.HTTP_400_BAD_REQUEST,
        )
    return drf_exception_handler(exc, context)
