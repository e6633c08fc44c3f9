"""Fixtures the whole suite shares: API clients, a live Celery worker and a live web server.

The worker and the web server are real subprocesses (`celery -A product_importer worker`,
`uvicorn`) pointed at the test database, so tests that use them must commit their data
(`@pytest.mark.django_db(transaction=True)`).
"""

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.contrib.auth.models import User
from django.db import connection
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from core.roles import ADMIN, assign_role
from devstack.processes import (
    die_with_parent,
    stop_process,
    web_server,
    worker_command,
)
from jobs.tests.helpers import wait_until_worker_idle

BACKEND_DIR = Path(__file__).resolve().parent


@pytest.fixture
def user(db: None) -> User:
    """alice, an admin: she may do everything, as every user could before roles
    (core/tests/test_roles.py tests the other roles)."""
    alice = User.objects.create_user(username="alice", password="correct-horse-battery")
    assign_role(alice, ADMIN)
    return alice


@pytest.fixture
def api(user: User) -> APIClient:
    """An API client signed in with a token, as curl or Postman would be."""
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def anonymous() -> APIClient:
    return APIClient()


def _test_database_env() -> dict[str, str]:
    """The environment of this process, with DATABASE_URL naming the test database."""
    url = urlsplit(os.environ["DATABASE_URL"])
    test_db = connection.settings_dict["NAME"]
    env = dict(os.environ)
    env["DATABASE_URL"] = urlunsplit(url._replace(path=f"/{test_db}"))
    return env


@pytest.fixture
def subprocess_env(django_db_setup: None) -> dict[str, str]:
    """The environment for a worker or server of a test's own, on the test database."""
    return _test_database_env()


@pytest.fixture(scope="session")
def celery_worker(django_db_setup: None, django_db_blocker: object) -> Iterator[None]:
    """A real Celery worker consuming both queues from the real Redis."""
    process = subprocess.Popen(
        [
            *worker_command(concurrency=2, log_level="WARNING"),
            *("--without-gossip", "--without-mingle", "--without-heartbeat"),
        ],
        cwd=BACKEND_DIR,
        env=_test_database_env(),
        preexec_fn=die_with_parent(15),
    )
    from product_importer.celery import app

    deadline = time.monotonic() + 60
    while not app.control.ping(timeout=0.5):
        if process.poll() is not None or time.monotonic() > deadline:
            stop_process(process)
            pytest.fail("The Celery worker did not start.")
    yield
    stop_process(process)


@pytest.fixture
def worker(celery_worker: None) -> Iterator[None]:
    """The live worker, left idle after the test: no task of this test outlives it.

    Without this, a task a test queued (the search rebuild after an import, say) could still run
    while the database is flushed for the next test.
    """
    yield
    wait_until_worker_idle()


@pytest.fixture(scope="session")
def live_server_url(django_db_setup: None) -> Iterator[str]:
    """The real ASGI server (uvicorn) on a free port, as `make run` starts it."""
    with web_server(_test_database_env(), BACKEND_DIR) as (port, _):
        yield f"http://127.0.0.1:{port}"
