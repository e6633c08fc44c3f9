"""One error shape for the whole API: `{"detail": "..."}` or DRF's field map.

A database that is away (restarting, unreachable, out of connections) or a statement stopped by
its timeout (`core.db.bounded_statements`) is a 503 with words and `Retry-After`, not a 500:
the client did nothing wrong, and the same request may well succeed a few seconds later.
"""

from dataclasses import dataclass
from typing import Any

import psycopg
from django.conf import settings
from django.db import DataError, InterfaceError, OperationalError
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .db import QUERY_CANCELED, connection_lost, sqlstate

# What a client should wait before it tries again, in seconds: a restart takes a few.
RETRY_AFTER_SECONDS = 5
DATABASE_UNAVAILABLE = "The database is unavailable; try again shortly."
# Besides a lost connection (`core.db.connection_lost`): insufficient resources (53: too many
# connections, disk full), which the same request may well get past a moment later.
BUSY_SQLSTATE_CLASS = "53"


@dataclass(frozen=True)
class DatabaseFault:
    """A database failure that is no fault of the request: its words, answered with 503."""

    detail: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(RETRY_AFTER_SECONDS)}


def database_fault(exc: BaseException) -> DatabaseFault | None:
    """The 503 for `exc` if the database is away or stopped the statement; else None.

    Django wraps psycopg's errors in its own (the original is `__cause__`). A failure without
    an SQLSTATE is the client's side of a lost or refused connection, or psycopg_pool's
    `PoolTimeout` (no connection within the pool's timeout).
    """
    if not isinstance(exc, OperationalError | InterfaceError | psycopg.OperationalError):
        return None
    code = sqlstate(exc) or ""
    if code == QUERY_CANCELED:
        return DatabaseFault(_stopped_words())
    if connection_lost(exc) or code.startswith(BUSY_SQLSTATE_CLASS):
        return DatabaseFault(DATABASE_UNAVAILABLE)
    return None


def _stopped_words() -> str:
    seconds = settings.API_STATEMENT_TIMEOUT
    if not seconds:  # cancelled by someone at the database
        return "The request was stopped at the database; try again."
    return (
        f"The request took longer than {seconds} s at the database and was stopped; narrow "
        "the search or try again."
    )


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus a 400 for input the database itself refuses and a 503 for a
    database that is away or stopped the statement.

    Serializers validate lengths, NUL bytes and uniqueness first; `DataError` is the safety net for
    a value that slips past them (for example through a query parameter), so it never becomes a 500.
    """
    if isinstance(exc, DataError):
        return Response(
            {"detail": "The database refused a value: check its length and characters."},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if fault := database_fault(exc):
        return Response(
            {"detail": fault.detail},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers=fault.headers,
        )
    return drf_exception_handler(exc, context)
