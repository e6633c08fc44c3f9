"""Starts the embedded PostgreSQL and Redis for the test session, before Django reads its settings.

With DATABASE_URL and REDIS_URL set, the tests use those servers instead. Each test session gets
servers of its own, in `<DATA_DIR>/test-<pid>` (removed at the end) on ports picked at random, so
`make run` and any number of `make test` runs never meet.
"""

import os
import secrets
import shutil
from pathlib import Path

import pytest

from .services import EmbeddedPostgres, EmbeddedRedis, free_port

REPO_DIR = Path(__file__).resolve().parent.parent.parent
_started: list[EmbeddedPostgres | EmbeddedRedis] = []


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(
    early_config: pytest.Config, parser: pytest.Parser, args: list[str]
) -> None:
    session_dir = _session_dir()
    _remove_leftovers(session_dir.parent)
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    os.environ["HTTPS"] = "false"
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("MEDIA_ROOT", str(session_dir / "media"))
    # WhiteNoise warns about a missing static folder; `collectstatic` makes it outside tests.
    os.environ.setdefault("STATIC_ROOT", str(session_dir / "static"))
    (session_dir / "static").mkdir(parents=True, exist_ok=True)
    # Webhook receivers in the tests listen on 127.0.0.1 (tests of the guard turn it off), and
    # the worker retries and gives up quickly.
    os.environ.setdefault("WEBHOOK_ALLOW_PRIVATE_TARGETS", "true")
    os.environ.setdefault("WEBHOOK_RETRY_SCHEDULE", "0.2,0.5")
    os.environ.setdefault("WEBHOOK_TIMEOUT", "2")
    os.environ.setdefault("WEBHOOK_DISABLE_AFTER_FAILURES", "3")
    # The test session keeps the CPUs busy; its deliveries must not wait for them to calm down.
    os.environ.setdefault("WEBHOOK_YIELD_ABOVE_CPU", "100")
    os.environ.setdefault("WEBHOOK_YIELD_ABOVE_EVENTS", "0")
    if not os.environ.get("DATABASE_URL"):
        postgres = EmbeddedPostgres(
            session_dir / "postgres",
            free_port(),
            # Durability buys nothing in a throwaway test cluster.
            settings={"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"},
        )
        postgres.start()
        _started.append(postgres)
        os.environ["DATABASE_URL"] = postgres.url
    if not os.environ.get("REDIS_URL"):
        redis = EmbeddedRedis(session_dir / "redis", free_port())
        redis.start()
        _started.append(redis)
        os.environ["REDIS_URL"] = redis.url


def pytest_unconfigure(config: pytest.Config) -> None:
    while _started:
        _started.pop().stop()
    shutil.rmtree(_session_dir(), ignore_errors=True)


def _session_dir() -> Path:
    data_dir = (REPO_DIR / os.environ.get("DATA_DIR", ".data")).resolve()
    return data_dir / f"test-{os.getpid()}"


def _remove_leftovers(data_dir: Path) -> None:
    """Folders of test sessions that were killed before they could clean up."""
    for folder in data_dir.glob("test-*"):
        pid = folder.name.removeprefix("test-")
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            shutil.rmtree(folder, ignore_errors=True)
