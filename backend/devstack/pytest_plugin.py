"""Starts the embedded PostgreSQL and Redis for the test session, before Django reads its settings.

With DATABASE_URL and REDIS_URL set, the tests use those servers instead. Otherwise each test
session (`make test`) gets servers of its own, in `<DATA_DIR>/test-<pid>` (removed at the end) on
ports picked at random, so `make run` and any number of `make test` runs never meet.

TEST_CLUSTER=keep (`make test-fast`, with pytest-django's --reuse-db) keeps them instead, in
`<DATA_DIR>/test-fast`: initdb runs the first time only, each server gets the port it had last
time (a new one if that is taken), and the test database `test_product_importer` stays in the
cluster between sessions. The servers still run only while a session does, and:

- One session at a time owns the folder (a lock, released when its process ends, however it
  ends); a session that finds it taken gets servers of its own, as `make test` does.
- A PostgreSQL server that a killed session left running on the kept cluster is stopped first.
- Redis starts empty, as a new server does, and so does the session's MEDIA_ROOT.
- Django migrates a reused test database forward, so a new migration is applied; but it cannot
  see that a migration it applied was edited, removed or rolled back (another branch), and
  pytest-django makes the database anew only with --create-db. So the folder remembers a
  fingerprint of the migration files for the test database; the plugin sets --create-db itself
  when the fingerprint differs, or when the last session did not end cleanly. Pass --create-db
  (`make test-fast PYTEST_ARGS=--create-db`) to make the database anew by hand; delete the folder
  to start over from initdb.

--fast-hasher (which `make test-fast` passes too) hashes passwords at one PBKDF2 iteration
(devstack.fast_hasher): signing a user in, as most unit tests do, then costs next to nothing.
"""

import fcntl
import hashlib
import os
import secrets
import shutil
import sys
from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TypeVar

import pytest
from django.conf import settings

from .postgres import EmbeddedPostgres
from .processes import ServiceError, free_port, port_in_use
from .redis_server import EmbeddedRedis

REPO_DIR = Path(__file__).resolve().parent.parent.parent
BACKEND_DIR = REPO_DIR / "backend"
# Durability buys nothing in a test cluster, thrown away or kept: it holds nothing to keep.
TEST_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
# How a session ended that leaves a test database as its migrations made it.
CLEAN_EXITS = (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED, pytest.ExitCode.NO_TESTS_COLLECTED)


@dataclass
class KeptCluster:
    """The folder of TEST_CLUSTER=keep, owned by this session while `lock` is held."""

    folder: Path
    lock: IO[str]
    fingerprint: str  # of the migration files as they are now
    database_current: bool  # the test database was made from these migrations, and left whole
    database_made: bool = False  # this session set the test database up

    @classmethod
    def claim(cls, folder: Path) -> "KeptCluster | None":
        """The folder, locked for this session; None if another session holds it."""
        folder.mkdir(parents=True, exist_ok=True)
        lock = (folder / "lock").open("a")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            return None
        state = folder / "test-database"
        try:
            remembered = state.read_text().strip()
        except OSError:
            remembered = ""
        state.unlink(missing_ok=True)  # written back at a clean end of the session
        fingerprint = migrations_fingerprint()
        return cls(folder, lock, fingerprint, database_current=remembered == fingerprint)

    def finish(self, exitstatus: int) -> None:
        if exitstatus in CLEAN_EXITS and (self.database_made or self.database_current):
            (self.folder / "test-database").write_text(self.fingerprint + "\n")

    def release(self) -> None:
        self.lock.close()


@dataclass
class Session:
    """This test session's folder and the servers it started there."""

    folder: Path
    kept: KeptCluster | None = None
    started: list[EmbeddedPostgres | EmbeddedRedis] = field(default_factory=list)


_session: Session | None = None
Server = TypeVar("Server", EmbeddedPostgres, EmbeddedRedis)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--fast-hasher",
        action="store_true",
        help="hash passwords at one PBKDF2 iteration (devstack.fast_hasher): make test-fast",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(
    early_config: pytest.Config, parser: pytest.Parser, args: list[str]
) -> None:
    global _session
    data_dir = (REPO_DIR / os.environ.get("DATA_DIR", ".data")).resolve()
    _remove_leftovers(data_dir)
    mode = os.environ.get("TEST_CLUSTER", "")
    if mode not in ("", "keep"):
        raise pytest.UsageError(f"TEST_CLUSTER={mode}: set it to 'keep', or leave it unset.")
    kept = KeptCluster.claim(data_dir / "test-fast") if mode == "keep" else None
    if mode == "keep" and kept is None:
        print(
            f"TEST_CLUSTER=keep: another session uses {data_dir / 'test-fast'}; this one gets "
            "servers of its own.",
            file=sys.stderr,
        )
    session = _session = Session(kept.folder if kept else data_dir / f"test-{os.getpid()}", kept)
    _environment(session)
    try:
        _start_servers(session)
    except ServiceError as exc:
        if kept is None:
            raise
        hint = f"(TEST_CLUSTER=keep: delete {kept.folder} to start over.)"
        raise ServiceError(f"{exc}\n{hint}") from exc


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("fast_hasher"):
        hasher = "devstack.fast_hasher.FastPBKDF2PasswordHasher"
        settings.PASSWORD_HASHERS = [hasher, *settings.PASSWORD_HASHERS]
    kept = _kept_database()
    if kept and not kept.database_current and config.getoption("reuse_db", False):
        config.option.create_db = True


def pytest_report_header(config: pytest.Config) -> str | None:
    if _session is None or _session.kept is None:
        return None
    made_anew = config.getoption("create_db", False) and config.getoption("reuse_db", False)
    return f"devstack: the kept test servers of {_session.kept.folder}" + (
        "; the test database is made anew" if made_anew else ""
    )


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(
    fixturedef: pytest.FixtureDef[object], request: pytest.FixtureRequest
) -> Generator[None, object, object]:
    result = yield  # raises, and so skips what follows, if the fixture failed
    kept = _kept_database()
    if kept and fixturedef.argname == "django_db_setup":
        kept.database_made = True
    return result


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    kept = _kept_database()
    if kept:
        kept.finish(exitstatus)


def pytest_unconfigure(config: pytest.Config) -> None:
    if _session is None:
        return
    while _session.started:
        _session.started.pop().stop()
    if _session.kept:
        _session.kept.release()
    else:
        shutil.rmtree(_session.folder, ignore_errors=True)


@pytest.fixture
def embedded_postgres() -> EmbeddedPostgres:
    """The session's own PostgreSQL server, for the fault tests that stop and start it (`stop()`
    then `start()`: same port, same data). Skipped when DATABASE_URL names a server of yours."""
    return _started(EmbeddedPostgres)


@pytest.fixture
def embedded_redis() -> EmbeddedRedis:
    """The session's own Redis server, as `embedded_postgres` (its data is saved at a stop)."""
    return _started(EmbeddedRedis)


def _started(kind: type[Server]) -> Server:
    for server in _session.started if _session else []:
        if isinstance(server, kind):
            return server
    pytest.skip(f"{kind.__name__}: the tests use a server of your own (DATABASE_URL, REDIS_URL)")


def _kept_database() -> KeptCluster | None:
    """The kept cluster, if the test database is in it (and not on a server of DATABASE_URL)."""
    if _session is None or _session.kept is None:
        return None
    if not any(isinstance(server, EmbeddedPostgres) for server in _session.started):
        return None
    return _session.kept


def _environment(session: Session) -> None:
    """The settings of the test session, in the environment that Django reads them from."""
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    os.environ["HTTPS"] = "false"
    os.environ["DEBUG"] = "false"
    if session.kept and "MEDIA_ROOT" not in os.environ:
        shutil.rmtree(session.folder / "media", ignore_errors=True)
    os.environ.setdefault("MEDIA_ROOT", str(session.folder / "media"))
    # WhiteNoise warns about a missing static folder; `collectstatic` makes it outside tests.
    os.environ.setdefault("STATIC_ROOT", str(session.folder / "static"))
    (session.folder / "static").mkdir(parents=True, exist_ok=True)
    # Webhook receivers in the tests listen on 127.0.0.1 (tests of the guard turn it off), and
    # the worker retries and gives up quickly.
    os.environ.setdefault("WEBHOOK_ALLOW_PRIVATE_TARGETS", "true")
    os.environ.setdefault("WEBHOOK_RETRY_SCHEDULE", "0.2,0.5")
    os.environ.setdefault("WEBHOOK_TIMEOUT", "2")
    os.environ.setdefault("WEBHOOK_DISABLE_AFTER_FAILURES", "3")
    # The test session keeps the CPUs busy; its deliveries must not wait for them to calm down.
    os.environ.setdefault("WEBHOOK_YIELD_ABOVE_CPU", "100")
    os.environ.setdefault("WEBHOOK_YIELD_ABOVE_EVENTS", "0")
    # The suite signs alice in and sends requests far faster than a person: rates it never meets
    # (core/tests/test_throttling.py sets its own).
    for limit in (
        "ANONYMOUS_PER_ADDRESS",
        "REQUESTS_PER_USER",
        "JOBS_PER_USER",
        "SIGN_IN_PER_ADDRESS",
        "SIGN_IN_PER_USERNAME",
    ):
        os.environ.setdefault(f"THROTTLE_{limit}", "10000/minute")


def _start_servers(session: Session) -> None:
    """The servers the environment does not name already, their URLs put in the environment."""
    if not os.environ.get("DATABASE_URL"):
        folder = session.folder / "postgres"
        if session.kept:
            EmbeddedPostgres(folder, port=0).stop_leftover()
        port = _remembered_port(folder) if session.kept else free_port()
        postgres = EmbeddedPostgres(folder, port, settings=TEST_SETTINGS)
        postgres.start()
        session.started.append(postgres)
        os.environ["DATABASE_URL"] = postgres.url
    if not os.environ.get("REDIS_URL"):
        folder = session.folder / "redis"
        if session.kept:
            (folder / "dump.rdb").unlink(missing_ok=True)  # what the last session left queued
        redis = EmbeddedRedis(folder, _remembered_port(folder) if session.kept else free_port())
        redis.start()
        session.started.append(redis)
        os.environ["REDIS_URL"] = redis.url


def _remembered_port(folder: Path) -> int:
    """The port the server of `folder` had last time, or a new one if that one is taken."""
    path = folder / "port"
    try:
        port = int(path.read_text())
    except (OSError, ValueError):
        port = 0
    if not port or port_in_use(port):
        port = free_port()
        folder.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{port}\n")
    return port


def migrations_fingerprint() -> str:
    """A hash of the names and contents of the project's migration files."""
    digest = hashlib.sha256()
    for path in sorted(BACKEND_DIR.glob("*/migrations/*.py")):
        digest.update(str(path.relative_to(BACKEND_DIR)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def _remove_leftovers(data_dir: Path) -> None:
    """Folders of test sessions that were killed before they could clean up."""
    for folder in data_dir.glob("test-*"):
        pid = folder.name.removeprefix("test-")
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            shutil.rmtree(folder, ignore_errors=True)
