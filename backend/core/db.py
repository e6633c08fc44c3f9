"""Direct psycopg connections beside Django's, for the import engine and the live job stream."""

from typing import Any

from django.db import connection


def psycopg_params() -> dict[str, Any]:
    """The keyword arguments of `psycopg.connect` for Django's default database."""
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    return params
