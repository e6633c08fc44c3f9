"""The supervisor of `make run` (`python -m devstack run`) and of `python -m devstack manage`.

Starts the embedded PostgreSQL and Redis (unless DATABASE_URL / REDIS_URL point elsewhere),
migrates, makes sure an admin account exists, starts the web server and the Celery workers, and
prints how to use them. While it runs it supervises the web server and the workers: one that
exits is said and started again, after a delay that doubles with each quick death
(`Supervised`, `Restarts`), and the rest of the stack goes on. It supervises the embedded
PostgreSQL and Redis the same way (`SupervisedServer`), but a server that someone else started
on their data meanwhile (`pg_ctl restart` by hand, say) is left to run. `Stack.stop` stops
everything it started, in the reverse order, and such a server too; the data stays in DATA_DIR.
The signals that end it are the CLI's (`devstack.__main__`): they set `Stack.stopping`, which a
start in progress checks between its steps.
"""

import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from core.private_files import write_private

from .postgres import EmbeddedPostgres
from .processes import (
    Restarts,
    ServiceError,
    die_with_parent,
    port_in_use,
    stop_process,
    web_command,
    worker_commands,
)
from .redis_server import EmbeddedRedis

BACKEND_DIR = Path(__file__).resolve().parent.parent
REPO_DIR = BACKEND_DIR.parent


@dataclass
class Supervised:
    """A long-running child of `make run`: how to start it, and when to start it again."""

    name: str
    args: list[str]
    env: dict[str, str]
    process: subprocess.Popen[bytes]
    restarts: Restarts


class Server(Protocol):
    """An embedded server (`EmbeddedPostgres`, `EmbeddedRedis`) as the supervisor sees it."""

    def start(self) -> None: ...

    def exit_code(self) -> int | None: ...

    def other_server(self) -> str | None: ...


@dataclass
class SupervisedServer:
    """An embedded server of `make run`, started again when it dies; `other` is the server
    someone else started on its data meanwhile, which is left to run (and stopped at the end)."""

    name: str
    server: Server
    restarts: Restarts
    other: str | None = None


class Stopped(Exception):
    """SIGINT or SIGTERM arrived while starting: stop what has started and exit 0."""


def data_dir() -> Path:
    """DATA_DIR; a relative one is taken from the top of the repository."""
    return (REPO_DIR / os.environ.get("DATA_DIR", ".data")).resolve()


def secret_key() -> str:
    path = data_dir() / "secret_key"
    if not path.exists():
        write_private(path, secrets.token_urlsafe(50))
    return path.read_text().strip()


def banner(base_url: str, admin: dict[str, str]) -> str:
    password = admin.get("password") or "(the one you set; `make admin-password` makes a new one)"
    token = admin["token"]
    return f"""
Product Importer is running at {base_url}/
  API (browsable):  {base_url}/api/
  API docs:         {base_url}/api/docs/
  Health:           {base_url}/healthz
  Login:            {admin["username"]} / {password}

Try it:
  curl -H "Authorization: Token {token}" {base_url}/api/products/

Press Ctrl-C to stop; the data stays in {data_dir()}.
"""


class Stack:
    """The processes `make run` owns, stopped in the reverse order of their start."""

    def __init__(self) -> None:
        self.postgres: EmbeddedPostgres | None = None
        self.redis: EmbeddedRedis | None = None
        self.children: list[tuple[str, subprocess.Popen[Any]]] = []
        self.supervised: list[Supervised] = []
        self.servers: list[SupervisedServer] = []
        self.stopping = False

    def check_stopping(self) -> None:
        if self.stopping:
            raise Stopped

    def environment(self, *, broker: bool = True) -> dict[str, str]:
        """The environment of every child, with the embedded servers started where needed."""
        env = dict(os.environ)
        env["DATA_DIR"] = str(data_dir())
        env.setdefault("SECRET_KEY", secret_key())
        env.setdefault("HTTPS", "false")
        env.setdefault("MEDIA_ROOT", str(data_dir() / "media"))
        env.setdefault("STATIC_ROOT", str(data_dir() / "static"))
        # Local development: webhooks may target receivers on this machine or its network.
        env.setdefault("WEBHOOK_ALLOW_PRIVATE_TARGETS", "true")
        if not env.get("DATABASE_URL"):
            self.postgres = EmbeddedPostgres(
                data_dir() / "postgres", int(env.get("PG_PORT", "54320"))
            )
            print(f"Starting PostgreSQL on 127.0.0.1:{self.postgres.port}...", flush=True)
            self.postgres.start()
            env["DATABASE_URL"] = self.postgres.url
        self.check_stopping()
        if broker and not env.get("REDIS_URL"):
            self.redis = EmbeddedRedis(data_dir() / "redis", int(env.get("REDIS_PORT", "63790")))
            print(f"Starting Redis on 127.0.0.1:{self.redis.port}...", flush=True)
            self.redis.start()
            env["REDIS_URL"] = self.redis.url
        self.check_stopping()
        return env

    def manage(self, *args: str, env: dict[str, str]) -> str:
        """`manage.py ARGS`, in a session of its own so that Ctrl-C reaches only us."""
        process = subprocess.Popen(
            [sys.executable, "manage.py", *args],
            cwd=BACKEND_DIR,
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            start_new_session=True,
            preexec_fn=die_with_parent(signal.SIGTERM),
        )
        self.children.append((f"manage.py {args[0]}", process))
        output, _ = process.communicate()
        self.children.pop()
        self.check_stopping()
        if process.returncode != 0:
            raise ServiceError(f"manage.py {' '.join(args)} failed (exit {process.returncode}).")
        return output

    def spawn(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        """Start a long-running child, which `supervise` starts again whenever it exits."""
        process = self.popen(args, env)
        self.children.append((name, process))
        self.supervised.append(Supervised(name, args, env, process, Restarts(time.monotonic())))
        return process

    @staticmethod
    def popen(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            args,
            cwd=BACKEND_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=die_with_parent(signal.SIGTERM),
        )

    def supervise(self, child: Supervised) -> None:
        """Say that `child` exited and plan its restart; start it again once its delay is up."""
        now = time.monotonic()
        if child.restarts.restart_at is None:
            code = child.process.poll()
            if code is None:
                return
            delay = child.restarts.plan(now)
            print(
                f"The {child.name} process exited (code {code}); starting it again in "
                f"{delay:.0f} s.",
                flush=True,
            )
        elif child.restarts.due(now):
            old = child.process
            child.process = self.popen(child.args, child.env)
            child.restarts.started(now)
            self.children = [
                (name, child.process if process is old else process)
                for name, process in self.children
            ]
            print(f"Started the {child.name} process again.", flush=True)

    def supervise_server(self, watched: SupervisedServer) -> None:
        """As `supervise`, for an embedded server; but while a server that someone else started
        runs on its data, that one is left to run."""
        now = time.monotonic()
        server = watched.server
        if watched.restarts.restart_at is None:
            if server.exit_code() is None or self._runs_other(watched):
                return
            if watched.other:
                gone = f"The {watched.name} server that someone else started ({watched.other})"
                watched.other = None
            else:
                gone = f"{watched.name} (exit code {server.exit_code()})"
            delay = watched.restarts.plan(now)
            print(f"{gone} stopped; starting it again in {delay:.0f} s.", flush=True)
        elif watched.restarts.due(now):
            if self._runs_other(watched):
                watched.restarts.restart_at = None
                return
            try:
                server.start()
            except ServiceError as exc:
                delay = watched.restarts.plan(now)
                print(
                    f"{watched.name} did not start; trying again in {delay:.0f} s: {exc}",
                    flush=True,
                )
                return
            watched.restarts.started(now)
            print(f"Started {watched.name} again.", flush=True)

    @staticmethod
    def _runs_other(watched: SupervisedServer) -> bool:
        """Whether a server that someone else started runs on the data; said the first time."""
        other = watched.server.other_server()
        if other and other != watched.other:
            print(
                f"{watched.name} was started by someone else ({other}): leaving it to run; "
                "Ctrl-C stops it too.",
                flush=True,
            )
        watched.other = other
        return other is not None

    def wait_healthy(self, url: str, web: subprocess.Popen[bytes], timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_stopping()
            if web.poll() is not None:
                raise ServiceError(f"The web server exited with code {web.returncode}.")
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise ServiceError(f"{url} did not answer 200 within {timeout:.0f} s.")

    def stop(self) -> None:
        for name, process in reversed(self.children):
            if process.poll() is None:
                print(f"Stopping {name}...", flush=True)
                stop_process(process)
        if self.redis:
            print("Stopping Redis...", flush=True)
            self.redis.stop()
        if self.postgres:
            print("Stopping PostgreSQL...", flush=True)
            self.postgres.stop()

    def run(self) -> int:
        port = int(os.environ.get("PORT", "8000"))
        if port_in_use(port):
            raise ServiceError(f"Port {port} is taken: set PORT to a free port.")
        env = self.environment()
        admin = json.loads(self.manage("prepare", env=env))
        web = self.spawn(
            "web", web_command(port, workers=int(env.get("WEB_CONCURRENCY", "2"))), env
        )
        workers = worker_commands(concurrency=int(env.get("WORKER_CONCURRENCY", "2")))
        for name, command in workers.items():
            self.spawn(name, command, env)
        base_url = f"http://127.0.0.1:{port}"
        self.wait_healthy(f"{base_url}/healthz", web)
        print(banner(base_url, admin), flush=True)
        now = time.monotonic()
        self.servers = [
            SupervisedServer(name, server, Restarts(now))
            for name, server in (("PostgreSQL", self.postgres), ("Redis", self.redis))
            if server is not None
        ]
        while not self.stopping:
            for watched in self.servers:
                self.supervise_server(watched)
            for child in self.supervised:
                self.supervise(child)
            time.sleep(0.5)
        return 0

    def manage_command(self, args: list[str]) -> int:
        """`manage.py ARGS` against `make run`'s database: the running one, or started for it."""
        if not os.environ.get("DATABASE_URL"):
            port = int(os.environ.get("PG_PORT", "54320"))
            if port_in_use(port):  # `make run` is up: use its server
                os.environ["DATABASE_URL"] = EmbeddedPostgres(data_dir() / "postgres", port).url
        env = self.environment(broker=False)
        process = subprocess.Popen([sys.executable, "manage.py", *args], cwd=BACKEND_DIR, env=env)
        self.children.append(("manage.py", process))
        return process.wait()
