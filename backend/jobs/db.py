"""A job's own database connection, the catalog lock that lets one job at a time write, and what
a job does when PostgreSQL goes away under it.

A job that writes the catalog does it in one transaction on a psycopg connection of its own
(`job_connection`), beside Django's, which records its progress in autocommit. Before it starts
it takes the catalog lock (`catalog_lock`), so that imports and bulk deletes run one after the
other, the next one waiting its turn.

When PostgreSQL restarts (or the network to it is cut), both connections die: the server rolls
the job's transaction back, and nothing can be recorded until it answers again.
`core.db.connection_lost` tells such an error from a statement that failed; `wait_for_database`
waits for the server.
"""

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
from django import db
from django.db import connection

from core.db import psycopg_params

logger = logging.getLogger(__name__)

# One import or bulk delete at a time per catalog: the next one waits (an advisory-lock key).
CATALOG_LOCK_KEY = 7_311_002
# How long a job waits for the database to come back, and how often it looks.
DATABASE_WAIT = 600.0
DATABASE_POLL = (0.2, 2.0)  # the first pause, and the longest


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
    conn: psycopg.Connection[tuple[Any, ...]], on_wait: Callable[[], None] | None = None
) -> Iterator[None]:
    """Hold the catalog for one import or bulk delete; `on_wait` if another one has it (the
    command line says that it waits).

    A connection that died holds no lock any more (the server released it with the session).
    """
    acquired = conn.execute("SELECT pg_try_advisory_lock(%s)", [CATALOG_LOCK_KEY]).fetchone()
    if not (acquired and acquired[0]):
        if on_wait is not None:
            on_wait()
        conn.execute("SELECT pg_advisory_lock(%s)", [CATALOG_LOCK_KEY])
    conn.commit()
    try:
        yield
    finally:
        if not conn.closed:
            try:
                conn.rollback()
                conn.execute("SELECT pg_advisory_unlock(%s)", [CATALOG_LOCK_KEY])
                conn.commit()
            except psycopg.Error:  # a job's cancel that landed late, say: the session goes
                conn.close()  # and the server releases its lock with it


def wait_for_database(timeout: float = DATABASE_WAIT) -> bool:
    """Wait until PostgreSQL answers again, looking at a growing interval; False if it has not
    after `timeout` seconds.

    Each look is a connection of its own, not one of the process's pool: a pool that lost its
    server retries on a backoff of its own (up to tens of seconds between tries). Once the
    server answers, the pool is replaced, so that Django's next query connects at once.
    """
    deadline = time.monotonic() + timeout
    pause, longest = DATABASE_POLL
    while not _answers():
        if time.monotonic() + pause > deadline:
            logger.error("the database did not come back within %.0f s", timeout)
            return False
        time.sleep(pause)
        pause = min(pause * 2, longest)
    close_pool()
    return True


def close_pool() -> None:
    """Close this thread's connection and the process's pool (Django makes a new one when it
    is next needed): after an outage, so that the next query connects at once; and in a
    worker's main process, which must hold nothing that a pool process forked from it shares.
    """
    with contextlib.suppress(db.Error, KeyError):
        connection.close()
        if hasattr(connection, "close_pool"):  # PostgreSQL's wrapper, with a pool or not
            connection.close_pool()


def _answers() -> bool:
    try:
        with psycopg.connect(**{**psycopg_params(), "connect_timeout": 2}) as conn:
            conn.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False
