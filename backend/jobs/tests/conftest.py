import psycopg
import pytest
from django.db import connection

from products.models import SearchIndexState


@pytest.fixture
def pg() -> psycopg.Connection:
    """Django's own psycopg connection (autocommit, idle), as the engine's caller may pass it."""
    connection.ensure_connection()
    conn = connection.connection
    assert isinstance(conn, psycopg.Connection)
    # A transactional test case starts from flushed tables: put back the single rows the
    # migrations create, as a real database has them.
    SearchIndexState.objects.update_or_create(pk=1, defaults={"generation": 0})
    return conn
