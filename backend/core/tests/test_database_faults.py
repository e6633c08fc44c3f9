"""The web server when the database restarts, is away, or is slow, as a client sees it over HTTP.

Each test starts a web server of its own (`devstack.processes.web_server`) on the test database
of the session's own PostgreSQL, which `embedded_postgres` restarts (same port, same data).
"""

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests
from django.db import InterfaceError, OperationalError, connection
from psycopg_pool import PoolTimeout
from rest_framework.authtoken.models import Token

from core.db import bounded_statements, lift_statement_timeout, psycopg_params
from core.exceptions import DATABASE_UNAVAILABLE, database_fault
from devstack.postgres import EmbeddedPostgres
from devstack.processes import web_server
from jobs.db import job_connection
from jobs.models import Job
from jobs.tests.test_job_lifecycle import sse_events
from products.tests.factories import make_product

BACKEND_DIR = Path(__file__).resolve().parents[2]
# The test server's connections name themselves so, to be counted in pg_stat_activity.
SERVER_APP = "database-faults-test-server"
STOPPED = (
    "The request took longer than 1 s at the database and was stopped; narrow the search or "
    "try again."
)


@pytest.fixture
def auth(user) -> dict[str, str]:
    return {"Authorization": f"Token {Token.objects.get_or_create(user=user)[0].key}"}


@contextmanager
def server(subprocess_env: dict[str, str], **env: str) -> Iterator[str]:
    with web_server({**subprocess_env, "PGAPPNAME": SERVER_APP, **env}, BACKEND_DIR) as (port, _):
        yield f"http://127.0.0.1:{port}"


def stop(postgres: EmbeddedPostgres) -> None:
    connection.close()  # this test's own, back to this process's pool
    postgres.stop()


def start_again(postgres: EmbeddedPostgres) -> None:
    """Start the session's PostgreSQL again, and drop this process's dead pooled connections,
    so that the test's teardown finds a live one at once."""
    postgres.start()
    pool = getattr(connection, "pool", None)
    if pool is not None:
        pool.check()


def restart(postgres: EmbeddedPostgres) -> None:
    stop(postgres)
    start_again(postgres)


def warm_up(base: str, auth: dict[str, str]) -> None:
    """Requests at once, until the server's pool holds several connections, as under load."""
    for _ in range(5):
        with ThreadPoolExecutor(6) as pool:
            answers = list(
                pool.map(
                    lambda _: requests.get(f"{base}/api/products/", headers=auth, timeout=30),
                    range(30),
                )
            )
        assert {r.status_code for r in answers} == {200}
        if server_connections() >= 3:
            return
    pytest.fail(f"only {server_connections()} pooled connections: nothing much to prove")


def server_connections() -> int:
    with psycopg.connect(**psycopg_params()) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE application_name = %s AND datname = current_database()",
            [SERVER_APP],
        ).fetchone()
    assert row is not None
    return int(row[0])


@contextmanager
def products_locked() -> Iterator[None]:
    """An ACCESS EXCLUSIVE lock on the products table, held by a connection of the test's own:
    every query of the table waits until the block ends."""
    with psycopg.connect(**psycopg_params()) as conn:
        conn.execute("LOCK TABLE products_product IN ACCESS EXCLUSIVE MODE")
        yield
        conn.rollback()


def timed(method: str, url: str, **kwargs: Any) -> tuple[requests.Response, float]:
    started = time.monotonic()
    response = requests.request(method, url, timeout=30, **kwargs)
    return response, time.monotonic() - started


def follow_jobs(base: str, auth: dict[str, str], during: Callable[[], None] = lambda: None) -> None:
    """Four dashboards following four jobs to their end, over the live stream; `during` runs
    once the streams are open, before the jobs end."""
    jobs = [Job.objects.create(kind=Job.Kind.BULK_DELETE) for _ in range(4)]
    url = f"{base}/api/job/{{}}/events/"
    with ThreadPoolExecutor(4) as pool:
        opened = list(
            pool.map(lambda job: timed("GET", url.format(job.pk), headers=auth, stream=True), jobs)
        )
    assert [response.status_code for response, _ in opened] == [200] * 4
    assert max(seconds for _, seconds in opened) < 2
    events = [sse_events(response) for response, _ in opened]
    assert [next(stream)["status"] for stream in events] == ["PENDING"] * 4
    during()
    Job.objects.filter(pk__in=[job.pk for job in jobs]).update(status=Job.Status.COMPLETED)
    assert [[event["status"] for event in stream] for stream in events] == [["COMPLETED"]] * 4
    for response, _ in opened:
        response.close()


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
class TestOverHttp:
    def test_after_a_restart_not_one_request_gets_a_5xx(
        self, subprocess_env, auth, embedded_postgres
    ):
        products = [make_product() for _ in range(3)]
        job = Job.objects.create(kind=Job.Kind.BULK_DELETE)
        with server(subprocess_env) as base:
            warm_up(base, auth)

            restart(embedded_postgres)

            kinds = [
                ("GET", "/api/products/", {}),
                ("GET", f"/api/products/{products[0].pk}/", {}),
                ("PATCH", f"/api/products/{products[1].pk}/", {"json": {"name": "Renamed"}}),
                ("GET", f"/api/job/{job.pk}/status/", {}),
                ("GET", "/api/products/?search=product", {}),
            ]
            answers = [
                (method, path, *timed(method, base + path, headers=auth, **kwargs))
                for method, path, kwargs in kinds * 10
            ]
        failed = [(m, p, r.status_code, r.text) for m, p, r, _ in answers if r.status_code >= 500]
        assert not failed, failed
        assert {r.status_code for *_, r, _ in answers} == {200}
        slowest = max(seconds for *_, seconds in answers)
        print(f"after the restart: the slowest of {len(answers)} requests took {slowest:.2f} s")
        assert slowest < 1, f"a request after the restart took {slowest:.1f} s: it met dead ones"

    def test_event_streams_go_on_through_a_restart_and_new_ones_open(
        self, subprocess_env, auth, embedded_postgres
    ):
        """The live progress (an ASGI app beside Django, with a pool of its own) as dashboards
        follow it: streams open across the restart see their job's end; and after a restart
        that found both pools idle, full of connections that died with the server, new streams
        answer at once and follow their jobs to the end."""
        with server(subprocess_env) as base:
            warm_up(base, auth)
            follow_jobs(base, auth)  # the stream's own pool now holds idle connections

            restart(embedded_postgres)
            follow_jobs(base, auth)

            follow_jobs(base, auth, during=lambda: restart(embedded_postgres))

    def test_while_the_database_is_away_requests_get_a_503_with_words_at_once(
        self, subprocess_env, auth, embedded_postgres
    ):
        product = make_product()
        with server(subprocess_env) as base:
            assert requests.get(f"{base}/api/products/", headers=auth, timeout=30).ok
            stop(embedded_postgres)
            try:
                for path in ("/api/products/", f"/api/products/{product.pk}/"):
                    response, seconds = timed("GET", base + path, headers=auth)
                    assert response.status_code == 503, response.text
                    assert response.json() == {"detail": DATABASE_UNAVAILABLE}
                    assert response.headers["Retry-After"] == "5"
                    assert seconds < 4.5, f"{path} took {seconds:.1f} s to say so"
                    print(f"database away: {path} answered 503 in {seconds:.1f} s")

                # A view that is not DRF's: the admin, whose session lookup needs the database.
                response, seconds = timed("GET", f"{base}/admin/", cookies={"sessionid": "x" * 32})
                assert response.status_code == 503, response.text
                assert response.text == DATABASE_UNAVAILABLE
                assert response.headers["Retry-After"] == "5"

                response, seconds = timed("GET", f"{base}/healthz")
                assert response.status_code == 503
                assert response.json()["detail"].startswith("database: OperationalError")
                assert seconds < 4.5
            finally:
                start_again(embedded_postgres)
            response = requests.get(f"{base}/api/products/", headers=auth, timeout=30)
            assert response.status_code == 200, response.text
            assert requests.get(f"{base}/healthz", timeout=30).json()["status"] == "ok"

    def test_a_request_slow_at_the_database_is_stopped_with_a_503_but_an_export_waits(
        self, subprocess_env, auth
    ):
        make_product(sku="slow-1")
        make_product(sku="slow-2")
        # One pooled connection: the export's, which the next request must find bounded again.
        env = {"API_STATEMENT_TIMEOUT": "1", "DATABASE_POOL_SIZE": "1"}
        with server(subprocess_env, **env) as base:
            with products_locked():
                response, seconds = timed("GET", f"{base}/api/products/", headers=auth)
            assert response.status_code == 503, response.text
            assert response.json() == {"detail": STOPPED}
            assert response.headers["Retry-After"] == "5"
            assert 0.9 < seconds < 2.5, seconds

            exported: dict[str, Any] = {}

            def export() -> None:
                exported["response"], exported["seconds"] = timed(
                    "GET", f"{base}/api/products/export/", headers=auth
                )

            with products_locked():
                reader = threading.Thread(target=export)
                reader.start()
                time.sleep(2.5)  # well past the bound, while the export waits for the lock
            reader.join(30)
            assert exported["response"].status_code == 200, exported["response"].text
            lines = exported["response"].text.splitlines()
            assert [line.split(",")[0] for line in lines[1:]] == ["slow-1", "slow-2"]
            assert exported["seconds"] >= 2.5

            with products_locked():
                response, seconds = timed("GET", f"{base}/api/products/?search=slow", headers=auth)
            assert response.status_code == 503, response.text
            assert seconds < 2.5
            response = requests.get(f"{base}/api/products/", headers=auth, timeout=30)
            assert response.status_code == 200
            assert response.json()["count"] == 2


def show_statement_timeout(cursor: Any) -> str:
    cursor.execute("SHOW statement_timeout")
    return str(cursor.fetchone()[0])


@pytest.mark.django_db(transaction=True)
def test_only_requests_are_bounded_not_jobs_nor_django_outside_a_request(settings):
    settings.API_STATEMENT_TIMEOUT = 1
    connection.close()
    with connection.cursor() as cursor:  # as a worker or a management command has it
        assert show_statement_timeout(cursor) == "0"
    with job_connection() as conn, conn.cursor() as cursor:
        assert show_statement_timeout(cursor) == "0"

    connection.close()
    with bounded_statements(1), connection.cursor() as cursor:
        assert show_statement_timeout(cursor) == "1s"
        lift_statement_timeout()  # as an export does
        assert show_statement_timeout(cursor) == "0"
    with bounded_statements(1), connection.cursor() as cursor:  # the next request: bounded again
        assert show_statement_timeout(cursor) == "1s"
    connection.close()
    with connection.cursor() as cursor:  # outside a request again: unbounded, whichever it is
        assert show_statement_timeout(cursor) == "0"
        cursor.execute("SELECT pg_sleep(1.2)")  # nothing stops it
    connection.close()


def wrapped(error: psycopg.Error) -> OperationalError:
    """The error as Django raises it: its own class, psycopg's as the cause."""
    django_error = OperationalError(str(error))
    django_error.__cause__ = error
    return django_error


@pytest.mark.parametrize(
    ("error", "detail"),
    [
        (wrapped(psycopg.errors.QueryCanceled()), STOPPED),
        (wrapped(PoolTimeout("couldn't get a connection after 3.00 sec")), DATABASE_UNAVAILABLE),
        (wrapped(psycopg.OperationalError("connection refused")), DATABASE_UNAVAILABLE),
        (wrapped(psycopg.errors.AdminShutdown()), DATABASE_UNAVAILABLE),
        (wrapped(psycopg.errors.CannotConnectNow()), DATABASE_UNAVAILABLE),
        (wrapped(psycopg.errors.TooManyConnections()), DATABASE_UNAVAILABLE),
        (InterfaceError("connection already closed"), DATABASE_UNAVAILABLE),
        (wrapped(psycopg.errors.DeadlockDetected()), None),
        (wrapped(psycopg.errors.ProgramLimitExceeded()), None),
        (ValueError("not the database's"), None),
    ],
)
def test_which_database_errors_are_a_503(error, detail, settings):
    settings.API_STATEMENT_TIMEOUT = 1
    fault = database_fault(error)
    assert (fault and fault.detail) == detail
    if fault:
        assert fault.headers == {"Retry-After": "5"}
