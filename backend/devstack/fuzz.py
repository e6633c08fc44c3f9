"""`make fuzz`: schemathesis against the live API, from the API's own schema, once per role.

Starts what it needs as the test suite does (an embedded PostgreSQL and Redis, `migrate`, a
Celery worker on both queues, the uvicorn web server of `devstack.processes`), makes a user
with a token per role, seeds products, a webhook to a receiver of its own and an import, then
runs `schemathesis run` against `/api/schema/` as each role in turn (viewer, editor, admin),
each for at most `--seconds`. It fails on any 5xx, and on any answer the schema does not
document: its status code, its content type or its body. Everything it started is stopped at
the end, whatever the end (a failure, Ctrl-C, SIGTERM).

Every operation is fuzzed, destructive ones included: it is the real API. The seed is made again
before each role, and the admin, whose bulk delete empties the catalog, goes last.

The fuzzer creates webhooks to URLs of its choosing, which the worker and the test button then
call. So the whole run happens in a network namespace of its own, with a loopback interface and
nothing else: whatever URL it invents, no request leaves the machine (as root, a namespace
alone; otherwise inside a user namespace that maps the user to itself). Where no namespace can
be made, it refuses to run.

Throttles are set out of the fuzzer's reach, except the rate of jobs started per user, kept at
JOBS_RATE: the fuzzer meets a real 429, and the worker is not flooded with imports.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import fcntl
import http.server
import os
import secrets
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import requests

from .postgres import EmbeddedPostgres
from .processes import (
    ServiceError,
    die_with_parent,
    free_port,
    stop_process,
    tail,
    wait_for,
    web_command,
    worker_command,
)
from .pytest_plugin import TEST_SETTINGS
from .redis_server import EmbeddedRedis

BACKEND_DIR = Path(__file__).resolve().parent.parent
REPO_DIR = BACKEND_DIR.parent
ROLES = ("viewer", "editor", "admin")  # the admin last: its bulk delete empties the catalog
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
)
JOBS_RATE = "60/minute"
SEED_PRODUCTS = 30
SEED_CSV = (
    "sku,name,description,active\n"
    "FUZZ-IMPORT-1,Imported one,From the seed import,true\n"
    ",A row without a SKU,So the job has an error report,true\n"
)

CLONE_NEWNET = 0x40000000
CLONE_NEWUSER = 0x10000000
SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1


class Interrupted(Exception):
    """SIGTERM, handled as Ctrl-C: stop what was started, then exit."""


@dataclass
class RoleRun:
    role: str
    exit_code: int
    seconds: float

    @property
    def passed(self) -> bool:
        return self.exit_code == 0


def isolate_network() -> None:
    """Move this process (and so every child it starts) into a network namespace of its own,
    with only a loopback interface, which is brought up. ServiceError if none can be made."""
    libc = ctypes.CDLL(None, use_errno=True)
    uid, gid = os.geteuid(), os.getegid()
    flags = CLONE_NEWNET if uid == 0 else CLONE_NEWUSER | CLONE_NEWNET
    if libc.unshare(flags) != 0:
        error = os.strerror(ctypes.get_errno())
        raise ServiceError(
            f"make fuzz runs in a network namespace of its own, and could not make one ({error})"
            ": run it as root, or allow unprivileged user namespaces."
        )
    if uid != 0:  # the same user inside the user namespace as outside
        Path("/proc/self/setgroups").write_text("deny")
        Path("/proc/self/uid_map").write_text(f"{uid} {uid} 1")
        Path("/proc/self/gid_map").write_text(f"{gid} {gid} 1")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH22x", b"lo", 0)
        current = struct.unpack("16sH22x", fcntl.ioctl(sock, SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack("16sH22x", b"lo", current | IFF_UP))


def fuzz_env(database_url: str, redis_url: str, folder: Path) -> dict[str, str]:
    """The environment of the web server, the worker and this process's Django."""
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="product_importer.settings",
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        SECRET_KEY=secrets.token_urlsafe(50),
        DEBUG="false",
        HTTPS="false",
        MEDIA_ROOT=str(folder / "media"),
        STATIC_ROOT=str(folder / "static"),
        WEBHOOK_ALLOW_PRIVATE_TARGETS="true",
        WEBHOOK_RETRY_SCHEDULE="0.2,0.5",
        WEBHOOK_TIMEOUT="2",
        WEBHOOK_YIELD_ABOVE_CPU="100",
        WEBHOOK_YIELD_ABOVE_EVENTS="0",
        THROTTLE_JOBS_PER_USER=JOBS_RATE,
    )
    for limit in (
        "ANONYMOUS_PER_ADDRESS",
        "REQUESTS_PER_USER",
        "SIGN_IN_PER_ADDRESS",
        "SIGN_IN_PER_USERNAME",
    ):
        env[f"THROTTLE_{limit}"] = "100000/minute"
    (folder / "static").mkdir(parents=True, exist_ok=True)
    return env


def migrate_and_make_users(env: dict[str, str]) -> dict[str, str]:
    """Migrate the database, and make a user in each role: their tokens by role."""
    os.environ.update(env)
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import connections
    from rest_framework.authtoken.models import Token

    from core.roles import assign_role

    call_command("migrate", verbosity=0, interactive=False)
    tokens = {}
    for role in ROLES:
        user = User.objects.create_user(username=f"fuzz-{role}", password=secrets.token_hex(16))
        assign_role(user, role)
        tokens[role] = Token.objects.create(user=user).key
    connections.close_all()
    return tokens


class Receiver(http.server.BaseHTTPRequestHandler):
    """A webhook receiver that takes every delivery (204)."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def receiver() -> Iterator[str]:
    """A webhook receiver on 127.0.0.1, its URL yielded while it runs."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def started(
    command: list[str], env: dict[str, str], log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """A child process of ours, its output in `log`, stopped at the end."""
    with log.open("ab") as output:
        process = subprocess.Popen(
            command,
            cwd=BACKEND_DIR,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent(signal.SIGTERM),
        )
    try:
        yield process
    finally:
        stop_process(process)


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except OSError:
        return False


def seed(api: str, token: str, webhook_url: str) -> None:
    """The data each role's run starts from, made again where an earlier run removed it:
    products, a webhook with a delivery, and a finished import with an error report."""
    session = requests.Session()
    session.headers["Authorization"] = f"Token {token}"
    for n in range(1, SEED_PRODUCTS + 1):
        product = {"sku": f"FUZZ-{n:04}", "name": f"Seeded product {n}", "description": "Seed"}
        answer = session.post(f"{api}/products/", json=product, timeout=30)
        if answer.status_code not in (201, 400):  # 400: it is still there
            raise ServiceError(f"Seeding a product: {answer.status_code} {answer.text[:300]}")
    hooks = session.get(f"{api}/webhooks/", timeout=30).json()["results"]
    if not any(hook["url"] == webhook_url and hook["enabled"] for hook in hooks):
        events = ["product.created", "product.updated", "product.deleted", "import.completed"]
        hook = {"url": webhook_url, "events": events, "description": "The fuzz's receiver"}
        answer = session.post(f"{api}/webhooks/", json=hook, timeout=30)
        answer.raise_for_status()
        session.post(f"{api}/webhooks/{answer.json()['id']}/test/", timeout=30).raise_for_status()
    upload = {"file": ("seed.csv", SEED_CSV.encode(), "text/csv")}
    answer = session.post(f"{api}/products/upload/", files=upload, timeout=30)
    if answer.status_code == 202:  # 429 when the admin's run used up its jobs: seeded before
        wait_for_job(session, answer.json()["status_url"])


def wait_for_job(session: requests.Session, status_url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while session.get(status_url, timeout=30).json()["status"] in ("PENDING", "PROCESSING"):
        if time.monotonic() > deadline:
            raise ServiceError("The seed import did not finish within a minute.")
        time.sleep(0.2)


def schemathesis_run(
    role: str, token: str, schema_url: str, seconds: int, report_dir: Path
) -> RoleRun:
    """One `schemathesis run` as `role`, for at most `seconds` of testing."""
    command = [
        sys.executable, "-m", "schemathesis.cli", "run", schema_url,
        "--header", f"Authorization: Token {token}",
        "--checks", ",".join(CHECKS),
        "--max-time", str(seconds),
        # One worker: Hypothesis parses lambdas' source with `ast`, which CPython 3.11 (before
        # 3.11.8) cannot do from two threads at once ("AST constructor recursion depth").
        "--workers", "1",
        "--request-timeout", "20",
        "--generation-database", "none",
        "--report", "junit,ndjson",
        "--report-dir", str(report_dir / role),
        "--output-sanitize", "true",
    ]  # fmt: skip
    print(f"\n=== schemathesis as {role} (at most {seconds} s) ===", flush=True)
    begun = time.monotonic()
    exit_code = subprocess.run(command, cwd=report_dir, check=False).returncode
    return RoleRun(role, exit_code, time.monotonic() - begun)


def summary(runs: list[RoleRun]) -> None:
    """How each role's run went."""
    print("\n=== make fuzz: summary ===")
    for run in runs:
        verdict = "passed" if run.passed else f"FAILED (schemathesis exit {run.exit_code})"
        print(f"  {run.role:7} {verdict} in {run.seconds:.0f} s")


def keep_logs(folder: Path, logs: list[Path]) -> None:
    """After a failure: the server's tracebacks shown, and the logs and schemathesis's reports
    kept in `.data/fuzz-last` (the run's own folder goes)."""
    kept = REPO_DIR / ".data" / "fuzz-last"
    kept.mkdir(parents=True, exist_ok=True)
    for log in logs:
        shutil.copy(log, kept / log.name)
        if "Traceback" in log.read_text(errors="replace"):
            print(f"\n--- the end of {log.name}, which holds a traceback ---\n{tail(log, 40)}")
    for role in ROLES:
        with contextlib.suppress(OSError):
            shutil.copytree(folder / role, kept / role)
    print(f"\nLogs and schemathesis's reports (JUnit, NDJSON): {kept}")
    print("Each failure above shows the curl command that reproduces it (token filtered).")


def remove_leftovers(data_dir: Path) -> None:
    """Folders of fuzz runs that were killed before they could clean up."""
    for folder in data_dir.glob("fuzz-*"):
        pid = folder.name.removeprefix("fuzz-")
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            shutil.rmtree(folder, ignore_errors=True)


def fuzz(seconds: int, folder: Path) -> list[RoleRun]:
    """Start the stack, seed it, and run schemathesis as each role; stop the stack."""
    with contextlib.ExitStack() as stack:
        postgres = EmbeddedPostgres(folder / "postgres", free_port(), settings=TEST_SETTINGS)
        postgres.start()
        stack.callback(postgres.stop)
        redis = EmbeddedRedis(folder / "redis", free_port())
        redis.start()
        stack.callback(redis.stop)
        env = fuzz_env(postgres.url, redis.url, folder)
        tokens = migrate_and_make_users(env)
        webhook_url = stack.enter_context(receiver())
        worker_log, web_log = folder / "worker.log", folder / "web.log"
        worker = [*worker_command(concurrency=2, log_level="WARNING"), "--without-mingle"]
        stack.enter_context(started(worker, env, worker_log))
        port = free_port()
        web = stack.enter_context(started(web_command(port, log_level="warning"), env, web_log))
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: answers(f"{base}/healthz"), "The web server", web, web_log)
        runs = []
        for role in ROLES:
            seed(f"{base}/api", tokens["admin"], webhook_url)
            runs.append(
                schemathesis_run(role, tokens[role], f"{base}/api/schema/", seconds, folder)
            )
        summary(runs)
        if not all(run.passed for run in runs):
            keep_logs(folder, [web_log, worker_log])
        return runs


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.fuzz", description=__doc__)
    parser.add_argument(
        "--seconds", type=int, default=90, help="the most each role's run takes (default 90)"
    )
    options = parser.parse_args()

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise Interrupted

    signal.signal(signal.SIGTERM, interrupt)
    data_dir = REPO_DIR / ".data"
    remove_leftovers(data_dir)
    shutil.rmtree(data_dir / "fuzz-last", ignore_errors=True)  # a failed run's, from before
    folder = data_dir / f"fuzz-{os.getpid()}"
    started_at = time.monotonic()
    try:
        isolate_network()
        runs = fuzz(options.seconds, folder)
    except ServiceError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    except (KeyboardInterrupt, Interrupted):
        print("Stopped.", file=sys.stderr)
        return 130
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    failed = sum(not run.passed for run in runs)
    print(f"make fuzz took {time.monotonic() - started_at:.0f} s.")
    # The closing line CI reads: the roles that passed and failed.
    print(f"fuzz: {len(runs) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
