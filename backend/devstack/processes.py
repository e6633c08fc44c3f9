"""The processes of the local stack: the commands of the web server and the workers, and what
starts, watches and stops a child process.

`make run` (devstack.supervisor), the test session (conftest.py) and the benchmarks start the
app's processes with the same commands, so that what the tests check is what `make run` runs.
Every child gets PR_SET_PDEATHSIG (`die_with_parent`): no server outlives the process that
started it, whatever way that one ends.
"""

import contextlib
import ctypes
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PR_SET_PDEATHSIG = 1

# A process that exits is started again after RESTART_FIRST_DELAY seconds, and after twice the
# last delay (at most RESTART_MAX_DELAY) when it died again within RESTART_HEALTHY_AFTER of its
# start: a crash loop does not spin, and a process that ran well is back at once.
RESTART_FIRST_DELAY = 1.0
RESTART_MAX_DELAY = 30.0
RESTART_HEALTHY_AFTER = 60.0


class ServiceError(RuntimeError):
    """A service could not be started; the message says why and what to do."""


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
        # The client's address is the connection's: NUM_PROXIES decides whether to trust
        # X-Forwarded-For (uvicorn would take it from any client on 127.0.0.1).
        "--no-proxy-headers",
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

    Imports get processes of their own, and the beat that queues the periodic tasks. Webhook
    deliveries get a worker of their own, at the
    lowest CPU priority (`devstack.background`): its one dispatcher at a time sends from threads
    of its own, and takes the CPU that the web server, the imports and PostgreSQL leave.
    """
    background = [sys.executable, "-m", "devstack.background"]
    webhooks = worker_command(concurrency=1, log_level=log_level, queues="webhooks")
    return {
        "worker": [
            *worker_command(concurrency=concurrency, log_level=log_level, queues="imports"),
            "--beat",  # the periodic tasks (settings.CELERY_BEAT_SCHEDULE)
        ],
        "webhooks worker": [*background, *webhooks, "--pool", "threads"],
    }


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def port_in_use(port: int) -> bool:
    """Whether something accepts connections on 127.0.0.1:`port`."""
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_for(
    check: Callable[[], bool],
    what: str,
    process: subprocess.Popen[bytes],
    log: Path,
    timeout: float = 60,
) -> None:
    """Poll `check` until it is true; a ServiceError with the end of `log` if `process` exits
    first or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServiceError(
                f"{what} exited with code {process.returncode}; see {log}:\n" + tail(log)
            )
        if check():
            return
        time.sleep(0.1)
    raise ServiceError(f"{what} did not start within {timeout:.0f} s; see {log}:\n" + tail(log))


@contextlib.contextmanager
def web_server(
    env: Mapping[str, str], cwd: Path, timeout: float = 60
) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """A web server (`web_command`, warnings only) on a free port, yielded as (port, process)
    once it answers /healthz, and stopped at the end; ServiceError if it exits first or does
    not answer within `timeout` seconds. For the tests, which start servers of their own."""
    port = free_port()
    process = subprocess.Popen(
        web_command(port, log_level="warning"),
        cwd=cwd,
        env=dict(env),
        preexec_fn=die_with_parent(signal.SIGTERM),
    )
    try:
        deadline = time.monotonic() + timeout
        while not _answers_http(f"http://127.0.0.1:{port}/healthz"):
            if process.poll() is not None:
                raise ServiceError(f"The web server exited with code {process.returncode}.")
            if time.monotonic() > deadline:
                raise ServiceError(f"The web server did not answer within {timeout:.0f} s.")
            time.sleep(0.2)
        yield port, process
    finally:
        stop_process(process)


def _answers_http(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except urllib.error.HTTPError:  # an answer, whatever its status
        return True
    except OSError:
        return False


def tail(log: Path, lines: int = 15) -> str:
    """The last `lines` lines of `log`, or nothing if it cannot be read."""
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


@dataclass
class Restarts:
    """When `make run` starts a process (a child, an embedded server) again after it exited."""

    started_at: float
    delay: float = RESTART_FIRST_DELAY
    restart_at: float | None = None  # None while it runs

    def plan(self, now: float) -> float:
        """Note that the process exited at `now`; return the delay before its next start."""
        if now - self.started_at >= RESTART_HEALTHY_AFTER:
            self.delay = RESTART_FIRST_DELAY
        delay = self.delay
        self.restart_at = now + delay
        self.delay = min(delay * 2, RESTART_MAX_DELAY)
        return delay

    def due(self, now: float) -> bool:
        return self.restart_at is not None and now >= self.restart_at

    def started(self, now: float) -> None:
        self.started_at, self.restart_at = now, None
