"""`python -m devstack run` (what `make run` does), end to end, as a new user meets it.

It runs in a venv of its own, built from the lock's tools and local groups alone, as `make run`
builds one: a package that only the dev group brings in (pytest brings `packaging`, which kombu's
Redis transport imports) cannot hide a missing dependency of the service.

A fresh DATA_DIR: it starts its own PostgreSQL and Redis, prints the URL, the login and a token
that all work, and its webhooks worker (at the lowest CPU priority) delivers an event to a
receiver on 127.0.0.1; SIGTERM stops everything and exits 0. A second start on the same data
reuses the cluster (no initdb), keeps the products and shows the same login; Ctrl-C (SIGINT)
stops it cleanly too.
"""

import contextlib
import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psutil
import pytest
import requests

from devstack.processes import free_port

BACKEND_DIR = Path(__file__).resolve().parent.parent.parent

# What a shell of a new user would not have: the test session's own servers and settings.
UNSET = (
    "DATABASE_URL",
    "REDIS_URL",
    "SECRET_KEY",
    "MEDIA_ROOT",
    "STATIC_ROOT",
    "DEBUG",
    "HTTPS",
    "ADMIN_USERNAME",
    "ADMIN_PASSWORD",
)

FIRST_START_TIMEOUT = 120
STOP_TIMEOUT = 90


@dataclass
class Banner:
    url: str
    username: str
    password: str
    token: str
    seconds: float  # from the start of the process to the banner


# Lines that mark the phases of a start, in order, to tell where the time goes when it is slow.
# The web server says it runs once migrate, collectstatic and ensure_admin are done.
PHASES = {
    "Starting PostgreSQL": "python and devstack imported",
    "Starting Redis": "PostgreSQL started",
    "Uvicorn running": "Redis, migrate, collectstatic, ensure_admin done; uvicorn started",
    "is running at": "web workers answer /healthz",
}


@dataclass
class Stack:
    """One `python -m devstack run`, with its output going to `log`."""

    process: subprocess.Popen[bytes]
    log: Path
    started: float
    seen: dict[str, float] = field(default_factory=dict)  # PHASES line -> seconds from start

    def output(self) -> str:
        text = self.log.read_text(errors="replace")
        now = time.monotonic() - self.started
        for line in PHASES:
            if line not in self.seen and line in text:
                self.seen[line] = now
        return text

    def phases(self) -> str:
        return ", ".join(
            f"{PHASES[line]} at {seconds:.1f} s" for line, seconds in self.seen.items()
        )

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.output().splitlines()[-lines:])


def start(python: Path, env: dict[str, str], log: Path) -> Stack:
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(python), "-m", "devstack", "run"],
            cwd=BACKEND_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so killpg reaches it as Ctrl-C would
        )
    return Stack(process, log, time.monotonic())


def wait_for_banner(stack: Stack, timeout: float) -> Banner:
    deadline = stack.started + timeout
    while time.monotonic() < deadline:
        text = stack.output()
        running = re.search(r"is running at (http://\S+?)/?$", text, re.MULTILINE)
        login = re.search(r"^\s*Login:\s+(\S+) / (\S+)\s*$", text, re.MULTILINE)
        token = re.search(r"Authorization: Token ([0-9a-f]+)", text)
        if running and login and token:
            return Banner(
                url=running.group(1),
                username=login.group(1),
                password=login.group(2),
                token=token.group(1),
                seconds=stack.seen["is running at"],
            )
        if stack.process.poll() is not None:
            pytest.fail(
                f"devstack exited with code {stack.process.returncode} before its banner:\n"
                + stack.tail()
            )
        time.sleep(0.1)
    pytest.fail(f"No banner within {timeout:.0f} s ({stack.phases()}):\n" + stack.tail())


def stop(stack: Stack, sig: int) -> float:
    """Signal the whole process group; return how long it took to exit."""
    sent = time.monotonic()
    os.killpg(stack.process.pid, sig)
    try:
        code = stack.process.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"devstack still runs {STOP_TIMEOUT} s after {sig!r}:\n" + stack.tail())
    elapsed = time.monotonic() - sent
    assert code == 0, f"devstack exited with code {code} after {sig!r}:\n" + stack.tail()
    return elapsed


def leftovers(data_dir: Path) -> list[psutil.Process]:
    """Processes started for this DATA_DIR. PostgreSQL names it on its command line; the web
    server and the worker inherit it in their environment; Redis rewrites its command line (and
    the environment beside it) to "redis-server 127.0.0.1:<port>" but works in its folder, as
    PostgreSQL and its backends work in theirs."""
    needle = str(data_dir)
    found = []
    for process in psutil.process_iter(["cmdline"]):
        try:
            if process.pid == os.getpid():
                continue
            if (
                any(needle in arg for arg in process.info["cmdline"] or [])
                or process.environ().get("DATA_DIR") == needle
                or Path(process.cwd()).is_relative_to(data_dir)
            ):
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def refuses(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(2)
        try:
            sock.connect(("127.0.0.1", port))
        except ConnectionRefusedError:
            return True
        return False


def assert_nothing_left(data_dir: Path, ports: list[int]) -> None:
    left = leftovers(data_dir)
    assert not left, "still running: " + "; ".join(
        f"{p.pid} {' '.join(p.info['cmdline'] or [])}" for p in left
    )
    for port in ports:
        assert refuses(port), f"something still listens on 127.0.0.1:{port}"


def setup_run(tmp_path: Path) -> tuple[Path, dict[str, str], list[int]]:
    """The data folder, environment and free ports (web, PostgreSQL, Redis) of a `make run` of
    the test's own."""
    data_dir = tmp_path.resolve()
    let_postgres_user_reach(data_dir)
    ports = [free_port(), free_port(), free_port()]
    assert len(set(ports)) == 3
    env = {name: value for name, value in os.environ.items() if name not in UNSET}
    web_port, pg_port, redis_port = (str(port) for port in ports)
    env.update(DATA_DIR=str(data_dir), PORT=web_port, PG_PORT=pg_port, REDIS_PORT=redis_port)
    return data_dir, env, ports


def let_postgres_user_reach(path: Path) -> None:
    """As root, the embedded PostgreSQL runs as the `postgres` system user, which must traverse
    every folder above its data. pytest makes /tmp/pytest-of-root (and the folders in it) mode 700,
    so give "others" the x (search) bit, and nothing else, on tmp_path and its parents; pytest
    sets /tmp/pytest-of-root back to 700 at its next session."""
    if os.geteuid() != 0:
        return
    for folder in [path, *path.parents]:
        mode = folder.stat().st_mode
        if not mode & 0o001:
            folder.chmod((mode & 0o7777) | 0o011)


def kill_everything(stack: Stack | None, data_dir: Path) -> None:
    if stack is not None and stack.process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(stack.process.pid, signal.SIGKILL)
        stack.process.wait(10)
    # Its children run in sessions of their own and die with it (PR_SET_PDEATHSIG); should one
    # not, end it here, by its id: only processes that name this test's DATA_DIR.
    deadline = time.monotonic() + 10
    while leftovers(data_dir) and time.monotonic() < deadline:
        time.sleep(0.5)
    for process in leftovers(data_dir):
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()


class Receiver:
    """An HTTP server on 127.0.0.1 that hands over the JSON bodies POSTed to it."""

    def __init__(self) -> None:
        bodies: queue.Queue[dict[str, Any]] = queue.Queue()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                bodies.put(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.bodies = bodies
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def get(self, timeout: float) -> dict[str, Any]:
        return self.bodies.get(timeout=timeout)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture(scope="session")
def runtime_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Python of a venv with the lock's tools and local groups only, as `make run` has it."""
    venv = tmp_path_factory.mktemp("runtime-venv").resolve()
    let_postgres_user_reach(venv)  # the embedded PostgreSQL runs its binaries from the venv
    uv = Path(sys.executable).parent / "uv"
    subprocess.run(
        [str(uv), "sync", "--frozen", "--quiet", "--group", "tools", "--group", "local"],
        cwd=BACKEND_DIR.parent,
        env={**os.environ, "UV_PROJECT_ENVIRONMENT": str(venv), "UV_PYTHON_DOWNLOADS": "never"},
        check=True,
    )
    python = venv / "bin" / "python"
    missing = subprocess.run([str(python), "-c", "import pytest"], capture_output=True)
    assert missing.returncode != 0, "the runtime venv has a package of the dev group"
    return python


@pytest.mark.integration
@pytest.mark.timeout(600)
def test_run_starts_everything_prints_a_working_login_and_stops_cleanly(
    tmp_path, receiver, runtime_python
):
    data_dir, env, ports = setup_run(tmp_path)
    port = ports[0]
    timings: dict[str, float] = {}
    stack = None
    try:
        # First start: a new user's first `make run`.
        stack = start(runtime_python, env, tmp_path / "run-1.log")
        banner = wait_for_banner(stack, FIRST_START_TIMEOUT)
        timings["first start to banner"] = banner.seconds
        print(f"first start: {stack.phases()}")
        base = f"http://127.0.0.1:{port}"
        assert banner.url == base
        assert banner.username == "admin"
        assert not banner.password.startswith("("), banner.password

        health = requests.get(f"{base}/healthz", timeout=10)
        assert health.status_code == 200, health.text
        assert health.json()["status"] == "ok"

        login = requests.post(
            f"{base}/api/auth/token/",
            json={"username": "admin", "password": banner.password},
            timeout=10,
        )
        assert login.status_code == 200, login.text
        assert login.json() == {"token": banner.token}

        auth = {"Authorization": f"Token {banner.token}"}
        hook = requests.post(
            f"{base}/api/webhooks/",
            json={"url": receiver.url, "events": ["product.created"]},
            headers=auth,
            timeout=10,
        )
        assert hook.status_code == 201, hook.text  # a URL on 127.0.0.1: allowed by `make run`
        product = {"name": "Devstack Widget", "sku": "DEVSTACK-1", "description": "From run"}
        created = requests.post(f"{base}/api/products/", json=product, headers=auth, timeout=10)
        assert created.status_code == 201, created.text
        assert created.json()["sku"] == "DEVSTACK-1"
        event = receiver.get(timeout=60)  # sent by the webhooks worker
        assert (event["type"], event["data"]["sku"]) == ("product.created", "DEVSTACK-1")
        listed = requests.get(f"{base}/api/products/", headers=auth, timeout=10)
        assert listed.status_code == 200, listed.text
        assert [p["sku"] for p in listed.json()["results"]] == ["DEVSTACK-1"]
        anonymous = requests.get(f"{base}/api/products/", timeout=10)
        assert anonymous.status_code == 401, anonymous.text

        # The check for leftovers below must see what it looks for while it runs.
        running = " ".join(" ".join(p.info["cmdline"] or []) for p in leftovers(data_dir))
        for program in ("postgres", "redis-server", "uvicorn", "celery"):
            assert program in running, f"{program} not found among {running}"
        [webhooks_worker] = [
            p for p in leftovers(data_dir) if "webhooks" in (p.info["cmdline"] or [])
        ]
        assert webhooks_worker.nice() == 19
        autogroup = Path(f"/proc/{webhooks_worker.pid}/autogroup")
        if autogroup.exists():
            assert autogroup.read_text().strip().endswith("nice 19")

        timings["shutdown after SIGTERM"] = stop(stack, signal.SIGTERM)
        assert_nothing_left(data_dir, ports)
        pg_version = data_dir / "postgres" / "cluster" / "PG_VERSION"
        made = pg_version.stat()

        # Second start on the same data: the same cluster (no initdb), data and login. Its time is
        # printed, not asserted: on a shared machine a limit in seconds fails with the load.
        stack = start(runtime_python, env, tmp_path / "run-2.log")
        again = wait_for_banner(stack, FIRST_START_TIMEOUT)
        timings["second start to banner"] = again.seconds
        print(f"second start: {stack.phases()}")
        reused = pg_version.stat()
        assert (reused.st_ino, reused.st_mtime_ns) == (made.st_ino, made.st_mtime_ns)
        assert again.username == "admin"
        assert again.password == banner.password
        assert again.token == banner.token
        listed = requests.get(f"{base}/api/products/", headers=auth, timeout=10)
        assert listed.status_code == 200, listed.text
        assert [p["sku"] for p in listed.json()["results"]] == ["DEVSTACK-1"]

        timings["shutdown after SIGINT"] = stop(stack, signal.SIGINT)
        assert_nothing_left(data_dir, ports)
    finally:
        kill_everything(stack, data_dir)
        print(", ".join(f"{what}: {seconds:.1f} s" for what, seconds in timings.items()))


@pytest.mark.integration
@pytest.mark.timeout(600)
def test_a_worker_that_dies_is_started_again_and_the_rest_goes_on(tmp_path, runtime_python):
    data_dir, env, ports = setup_run(tmp_path)
    port = ports[0]
    base = f"http://127.0.0.1:{port}"
    stack = None
    try:
        stack = start(runtime_python, env, tmp_path / "run.log")
        banner = wait_for_banner(stack, FIRST_START_TIMEOUT)
        auth = {"Authorization": f"Token {banner.token}"}
        [worker] = [
            p
            for p in psutil.Process(stack.process.pid).children()
            if "celery" in " ".join(p.cmdline()) and "imports" in p.cmdline()
        ]

        os.killpg(worker.pid, signal.SIGKILL)  # the imports worker, all its processes

        deadline = time.monotonic() + 60
        while "Started the worker process again." not in stack.output():
            assert stack.process.poll() is None, "make run stopped:\n" + stack.tail()
            assert time.monotonic() < deadline, "the worker was not started again:\n" + stack.tail()
            health = requests.get(f"{base}/healthz", timeout=10)
            assert health.status_code == 200, health.text  # the web server goes on meanwhile
            time.sleep(0.2)
        assert "The worker process exited (code -9); starting it again in 1 s." in stack.output()

        sample = BACKEND_DIR.parent / "products.csv"
        with sample.open("rb") as file:
            uploaded = requests.post(
                f"{base}/api/products/upload/", files={"file": file}, headers=auth, timeout=30
            )
        assert uploaded.status_code == 202, uploaded.text
        deadline = time.monotonic() + 90
        while (job := requests.get(uploaded.json()["status_url"], headers=auth, timeout=10).json())[
            "status"
        ] not in {"COMPLETED", "FAILED"}:
            assert time.monotonic() < deadline, job
            time.sleep(0.5)
        assert (job["status"], job["created_count"]) == ("COMPLETED", 933), job

        stop(stack, signal.SIGINT)
        assert_nothing_left(data_dir, ports)
    finally:
        kill_everything(stack, data_dir)


def wait_for_output(stack: Stack, text: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while text not in stack.output():
        assert stack.process.poll() is None, "make run stopped:\n" + stack.tail()
        assert time.monotonic() < deadline, f"no {text!r} within {timeout:.0f} s:\n" + stack.tail()
        time.sleep(0.2)


def wait_for_products(base: str, auth: dict[str, str], timeout: float = 30) -> None:
    """Until the API lists products again; meanwhile nothing but a 200 or a 503 with words."""
    deadline = time.monotonic() + timeout
    while True:
        response = requests.get(f"{base}/api/products/", headers=auth, timeout=10)
        if response.status_code == 200:
            return
        assert response.status_code == 503, response.text
        assert "detail" in response.json()
        assert time.monotonic() < deadline, f"the API still answers {response.status_code}"
        time.sleep(0.2)


def postmaster_pid(cluster: Path) -> int:
    return int((cluster / "postmaster.pid").read_text().split()[0])


def gone(pid: int) -> bool:
    """Whether process `pid` ended: no more, or a zombie that its parent has not waited for (a
    server started by pg_ctl is the child of whatever adopted it, which may never wait)."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def pg_ctl(*args: str) -> None:
    """The embedded package's pg_ctl, as someone at a shell would run it (as the PostgreSQL
    system user when we are root: pg_ctl refuses to run as root)."""
    from devstack.postgres import PG_SYSTEM_USER, EmbeddedPostgres

    subprocess.run(
        [str(EmbeddedPostgres.bin_dir() / "pg_ctl"), *args],
        user=PG_SYSTEM_USER if os.geteuid() == 0 else None,
        capture_output=True,
        check=True,
        timeout=60,
    )


@pytest.mark.integration
@pytest.mark.timeout(600)
def test_a_server_that_dies_is_started_again_and_one_restarted_by_hand_stops_too(
    tmp_path, runtime_python
):
    data_dir, env, ports = setup_run(tmp_path)
    port = ports[0]
    base = f"http://127.0.0.1:{port}"
    cluster = data_dir / "postgres" / "cluster"
    stack = None
    try:
        stack = start(runtime_python, env, tmp_path / "run.log")
        banner = wait_for_banner(stack, FIRST_START_TIMEOUT)
        auth = {"Authorization": f"Token {banner.token}"}

        # PostgreSQL dies: said, started again, and the API answers again.
        os.kill(postmaster_pid(cluster), signal.SIGKILL)
        wait_for_output(stack, "Started PostgreSQL again.")
        assert "PostgreSQL (exit code -9) stopped; starting it again in 1 s." in stack.output()
        wait_for_products(base, auth)

        # So does Redis.
        [redis_server] = [
            p for p in psutil.Process(stack.process.pid).children() if "redis" in p.name()
        ]
        redis_server.kill()
        wait_for_output(stack, "Started Redis again.")
        assert "Redis (exit code -9) stopped; starting it again in 1 s." in stack.output()
        wait_for_products(base, auth)

        # PostgreSQL restarted by hand: left to run, and the API goes on with it.
        ours = postmaster_pid(cluster)
        pg_ctl("restart", "-D", str(cluster), "-w", "-l", str(data_dir / "postgres" / "hand.log"))
        by_hand = postmaster_pid(cluster)
        assert by_hand != ours
        assert by_hand not in [p.pid for p in psutil.Process(stack.process.pid).children()]
        wait_for_output(stack, f"PostgreSQL was started by someone else (pid {by_hand})")
        wait_for_products(base, auth)
        assert "Started PostgreSQL again." not in stack.output().split("someone else")[-1]

        stop(stack, signal.SIGINT)
        assert f"Stopping the PostgreSQL server (pid {by_hand})" in stack.output()
        assert gone(by_hand)
        assert_nothing_left(data_dir, ports)
    finally:
        kill_everything(stack, data_dir)
