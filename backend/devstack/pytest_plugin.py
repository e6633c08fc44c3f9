"""Starts the embedded PostgreSQL and Redis for the test session, before Django reads its settings.

With DATABASE_URL and REDIS_URL set, the tests use those servers instead. The test cluster lives
in `<DATA_DIR>/test-postgres`, apart from the one `make run` uses, on ports picked at random, so a
running `make run` and `make test` never meet.
"""

import os
import secrets
from pathlib import Path

import pytest

from .services import EmbeddedPostgres, EmbeddedRedis, free_port

REPO_DIR = Path(__file__).resolve().parent.parent.parent
_started: list[EmbeddedPostgres | EmbeddedRedis] = []


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(
    early_config: pytest.Config, parser: pytest.Parser, args: list[str]
) -> None:
    data_dir = Path(os.environ.get("DATA_DIR", REPO_DIR / ".data")).resolve()
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    os.environ["HTTPS"] = "false"
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("MEDIA_ROOT", str(data_dir / "test-media"))
    if not os.environ.get("DATABASE_URL"):
        postgres = EmbeddedPostgres(
            data_dir / "test-postgres",
            free_port(),
            # Durability buys nothing in a throwaway test cluster.
            settings={"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"},
        )
        postgres.start()
        _started.append(postgres)
        os.environ["DATABASE_URL"] = postgres.url
    if not os.environ.get("REDIS_URL"):
        redis = EmbeddedRedis(data_dir / "test-redis", free_port())
        redis.start()
        _started.append(redis)
        os.environ["REDIS_URL"] = redis.url


def pytest_unconfigure(config: pytest.Config) -> None:
    while _started:
        _started.pop().stop()
