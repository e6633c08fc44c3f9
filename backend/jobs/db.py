"""A job's own database connection, and the catalog lock that lets one job at a time write.

A job that writes the catalog does it in one transaction on a psycopg connection of its own
(`job_connection`), beside Django's, which records its progress in autocommit. Before it starts
it takes the catalog lock (`catalog_lock`), so that imports and bulk deletes run one after the
other, the next one saying that it waits.
"""

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import psycopg

from core.db import psycopg_params

# One import or bulk delete at a time per catalog: the next one waits (an advisory-lock key).
CATALOG_LOCK_KEY = 7_311_002


def job_connection() -> psycopg.Connection[tuple[Any, ...]]:
    """A connection of its own for a job's transaction; progress goes through Django's.

    If the worker dies, the server notices within seconds (client_connection_check_interval)
    and rolls the transaction back, even in the middle of the upsert.
    """
    params = psycopg_params()
    params["options"] = f"{params.get('options', '')} -c client_connection_check_interval=2000"
    return psycopg.connect(**params)


@contextlib.contextmanager
def catalog_lock(
    conn: psycopg.Connection[tuple[Any, ...]], on_wait: Callable[[], None]
) -> Iterator[None]:
    """Hold the catalog for one import or bulk delete; `on_wait` if another one has it."""
    acquired = conn.execute("SELECT pg_try_advisory_lock(%s)", [CATALOG_LOCK_KEY]).fetchone()
    if not (acquired and acquired[0]):
        on_wait()
        conn.execute("SELECT pg_advisory_lock(%s)", [CATALOG_LOCK_KEY])
    conn.commit()
    try:
        yield
    finally:
        conn.rollback()
        conn.execute("SELECT pg_advisory_unlock(%s)", [CATALOG_LOCK_KEY])
        conn.commit()
