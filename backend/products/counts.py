"""The exact number of products, kept as per-statement deltas: no row that every writer locks.

Statement-level triggers (migrations 0002 and 0006) add one row to `ProductCountDelta` for each
statement that inserts or deletes products, +n or -n, in the writer's own transaction; a TRUNCATE
empties the table. The count is the sum of the committed rows, so it is exact for every reader's
snapshot, and writers never wait for one another on it (ADR 17 in docs/architecture.md). A reader
that finds more than COMPACT_ROWS rows folds the committed ones into one.
"""

from typing import Any, Final, Protocol

from django.db import connection

from .models import ProductCountDelta

DELTA_TABLE: Final = ProductCountDelta._meta.db_table
# Above this many rows, a reader folds them (a sum of a few dozen rows costs microseconds).
COMPACT_ROWS: Final = 32
# Folding skips a fold already under way, and waits for a TRUNCATE's reset (an advisory-lock key,
# beside products.search's 7_311_001 and jobs.db's 7_311_002).
COMPACT_LOCK_KEY: Final = 7_311_003
TOTAL_SQL: Final = f"SELECT coalesce(sum(delta), 0)::bigint, count(*) FROM {DELTA_TABLE}"
# One statement: it deletes only committed rows (others' uncommitted deltas are not visible, and
# a row that a concurrent TRUNCATE's reset deleted is skipped) and puts back their sum, so the
# total is the same before and after for every snapshot. Without the advisory lock, nothing.
COMPACT_SQL: Final = (
    "WITH folded AS ("
    f" DELETE FROM {DELTA_TABLE} WHERE (SELECT pg_try_advisory_xact_lock({COMPACT_LOCK_KEY}))"
    " RETURNING delta"
    f") INSERT INTO {DELTA_TABLE} (delta) SELECT sum(delta) FROM folded HAVING sum(delta) <> 0"
)


class Cursor(Protocol):
    """A DB-API cursor: Django's or psycopg's."""

    def execute(self, query: Any, params: Any = ..., /) -> Any: ...

    def fetchone(self) -> Any: ...


def product_total(cursor: Cursor | None = None) -> int:
    """How many products there are, as this statement's snapshot sees them.

    On `cursor` (a psycopg cursor of a job's connection), or on Django's connection. Exact for a
    caller that holds a lock on the products that keeps writers out (`bulk.delete_all_products`).
    """
    if cursor is None:
        with connection.cursor() as django_cursor:
            return product_total(django_cursor)
    cursor.execute(TOTAL_SQL)
    total, rows = cursor.fetchone()
    if rows > COMPACT_ROWS:
        cursor.execute(COMPACT_SQL)
    return int(total)
