"""Django's database connections as the web server uses them, and direct psycopg connections
beside them for the import engine and the live job stream.

- `bounded_statements`: while a request runs, each statement on Django's connections stops
  after API_STATEMENT_TIMEOUT seconds (PostgreSQL's `statement_timeout`), so that no request
  holds the database for long. Only requests are bounded: the Celery workers, the management
  commands and a job's own connection (`psycopg_params`) never pass through it. An export lifts
  the bound for its stream (`lift_statement_timeout`).
- `drop_dead_pooled_connections`: after a database restart the pool holds connections that
  are dead; dropped together, at once, before a request would find them one by one.
"""

import contextlib
import select
import threading
import time
import weakref
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import psycopg
from django.db import InterfaceError, connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created
from django.dispatch import receiver

# SQLSTATE classes of a lost server: 08 connection exception, 57 operator intervention (a
# shutdown: 57P01-57P03), but not 57014, a statement cancelled (a timeout), which is the
# statement's own end.
LOST_SQLSTATE_CLASSES = ("08", "57")
QUERY_CANCELED = "57014"
# While the database server cannot be reached, how often a request has the pool check its idle
# connections (`drop_dead_pooled_connections`), in seconds.
WATCH_RETRY_INTERVAL = 1.0

# The statement timeout (ms) of the request this context serves; 0 outside requests.
_request_bound_ms: ContextVar[int] = ContextVar("request_bound_ms", default=0)
# The statement_timeout (ms) that a committed SET left on each psycopg connection, where known:
# a pooled connection serves one request after another, and needs a SET only when it differs.
_session_timeouts: "weakref.WeakKeyDictionary[Any, int]" = weakref.WeakKeyDictionary()
UNKNOWN = -1


def psycopg_params() -> dict[str, Any]:
    """The keyword arguments of `psycopg.connect` for Django's default database.

    API_STATEMENT_TIMEOUT does not reach these connections: a job's transaction and the live
    job stream take the time they need.
    """
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    return params


def connection_lost(exc: BaseException) -> bool:
    """Whether `exc` (or what it was raised from) says the connection to PostgreSQL was lost:
    a restart, a crash, a network cut, a pool that cannot connect; not a statement that failed."""
    seen: set[int] = set()
    error: BaseException | None = exc
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, psycopg.InterfaceError | InterfaceError):
            return True
        if isinstance(error, psycopg.OperationalError):
            sqlstate = error.sqlstate or ""
            if not sqlstate or (
                sqlstate[:2] in LOST_SQLSTATE_CLASSES and sqlstate != QUERY_CANCELED
            ):
                return True
        error = error.__cause__ or error.__context__
    return False


def sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of `exc`, or of the psycopg error Django raised it from."""
    error = exc if isinstance(exc, psycopg.Error) else exc.__cause__
    return error.sqlstate if isinstance(error, psycopg.Error) else None


@contextlib.contextmanager
def bounded_statements(seconds: int) -> Iterator[None]:
    """Within: every statement on a Django connection opened (or already open) in this context
    is stopped by PostgreSQL after `seconds` (0: no bound). A stopped statement raises
    `OperationalError` from `psycopg.errors.QueryCanceled`, which `core.exceptions` answers 503.

    The bound is set on the connection when it is checked out, not per statement; a pooled
    connection usually has it from its last request already, and costs nothing more. Checked
    out outside this context, a connection that a request bounded is unbounded again.
    """
    token = _request_bound_ms.set(seconds * 1000)
    try:
        if connection.connection is not None:  # a persistent connection (no pool)
            _set_statement_timeout(connection, seconds * 1000)
        yield
    finally:
        _request_bound_ms.reset(token)


@receiver(connection_created, dispatch_uid="core.db.bound_checked_out_connection")
def _bound_checked_out_connection(
    sender: object, connection: BaseDatabaseWrapper, **kwargs: object
) -> None:
    _set_statement_timeout(connection, _request_bound_ms.get())


def lift_statement_timeout() -> None:
    """No statement timeout on Django's connection from here on: for an export's stream, which
    may take as long as the catalog needs. The next request that checks the connection out
    sets its bound again."""
    connection.ensure_connection()
    _set_statement_timeout(connection, 0, known=False)


def _set_statement_timeout(db: BaseDatabaseWrapper, bound_ms: int, *, known: bool = True) -> None:
    """SET statement_timeout on `db`'s connection unless it has that value already (a
    connection never SET here has the server's default, taken for 0)."""
    raw = db.connection
    if known and _session_timeouts.get(raw, 0) == bound_ms:
        return
    with db.cursor() as cursor:
        cursor.execute(f"SET statement_timeout = {int(bound_ms)}")
    # Inside a transaction, a rollback would undo the SET: the value is then not known.
    _session_timeouts[raw] = bound_ms if db.get_autocommit() else UNKNOWN


def drop_dead_pooled_connections() -> None:
    """Replace the pool's idle connections at once when the database server has restarted (or
    stopped) since the last request.

    Why: the pool checks a connection before it hands it out (CONN_HEALTH_CHECKS), but after a
    restart every idle connection is dead, and psycopg_pool waits 1, 2, 4... seconds between
    the dead ones it finds for one request: two of them outlast the pool's `timeout` of 3 s,
    four its former 10 s. Here `ConnectionPool.check` finds them all in one go (an empty query
    each), before the request asks for a connection.

    What tells of a restart is `_watch`, at once; while the server cannot be reached (no watch),
    the check is made at most once every WATCH_RETRY_INTERVAL seconds.
    """
    pool = getattr(connection, "pool", None)  # None without pooling
    if pool is None or pool.closed or not _watch.lock.acquire(blocking=False):
        return  # no pool yet, or another request is at it
    try:
        if not pool_check_due():
            return
        _watch.next_attempt = time.monotonic() + WATCH_RETRY_INTERVAL
        _watch.reconnect()  # before the check: a restart after the check still shows
        pool.check()
    finally:
        _watch.lock.release()


def pool_check_due() -> bool:
    """Whether `drop_dead_pooled_connections` has work to do: the watch saw the server go, or
    there is no watch and its retry is due. A poll with no wait: it never blocks, so that the
    async path of a request may ask it without a thread of its own."""
    if _watch.conn is not None:
        return _closed_by_server(_watch.conn)
    return time.monotonic() >= _watch.next_attempt


@dataclass
class _RestartWatch:
    """An idle connection of the process's own to the database server, there to notice that the
    server went away: PostgreSQL closes every connection when it stops, crashes or restarts,
    and this one's socket, which otherwise has nothing to read, turns readable. A poll with no
    wait tells, for the price of a system call per request.

    It connects to the server's `postgres` database, as Django does for its own maintenance, so
    that it never keeps the application's database from being dropped (the tests drop theirs).
    A server that refuses that connection has no watch, and gets the check once a second.
    """

    conn: psycopg.Connection[tuple[Any, ...]] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    next_attempt: float = 0.0

    def reconnect(self) -> None:
        if self.conn is not None:
            self.conn.close()
        params = {**psycopg_params(), "dbname": "postgres", "connect_timeout": 1}
        try:
            self.conn = psycopg.connect(**params, autocommit=True)
        except psycopg.Error:
            self.conn = None


def _closed_by_server(conn: psycopg.Connection[tuple[Any, ...]]) -> bool:
    """Whether an idle connection's socket has something to read: the server's goodbye."""
    if conn.closed:
        return True
    poller = select.poll()
    poller.register(conn.fileno(), select.POLLIN)
    return bool(poller.poll(0))


_watch = _RestartWatch()
