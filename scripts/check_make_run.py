"""A new user's `make run`, checked from outside with the standard library alone.

    python3 scripts/check_make_run.py

Builds a venv of its own from the lock's runtime, tools and local groups only (nothing of the dev
group, so a package that only the test tools bring in cannot hide a missing dependency), checks
that the venv holds exactly what the lock says for those groups, and runs `make run` with that
venv, on free ports, with a data folder of its own. Then, over HTTP as a new user would:
/healthz, a token for the printed login, an upload of products.csv that the imports worker must
finish with its counts, a webhook to a receiver on 127.0.0.1 and its Test (the webhooks worker and
its HTTP client), the dashboard at `/` and its script. Then Ctrl-C (SIGINT to the process group),
after which nothing it started may run or listen. Exits 0 when all of it holds, 1 with the reason
and the tail of the output otherwise. `.ci/run` runs it first, on the clean clone.
"""

import contextlib
import csv
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REPO_DIR = Path(__file__).resolve().parent.parent
SAMPLE = REPO_DIR / "products.csv"
# A cold start builds the venv and the dashboard; a warm one takes seconds.
BANNER_TIMEOUT = 900
JOB_TIMEOUT = 120
STOP_TIMEOUT = 90
# What a new user's shell would not have: a test session's servers and settings.
UNSET = ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "MEDIA_ROOT", "STATIC_ROOT", "DEBUG", "HTTPS",
         "ADMIN_USERNAME", "ADMIN_PASSWORD", "VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT")  # fmt: skip


class CheckFailed(Exception):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def refuses(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(2)
        try:
            sock.connect(("127.0.0.1", port))
        except ConnectionRefusedError:
            return True
        return False


def processes_of(folder: Path) -> list[tuple[int, str]]:
    """Processes started for this check: PostgreSQL names its data folder on its command line,
    the web server and workers have DATA_DIR in their environment, and Redis and PostgreSQL's
    backends work inside the folder."""
    needle, found = str(folder), []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            environ = (entry / "environ").read_bytes().split(b"\0")
            cwd = os.readlink(entry / "cwd")
        except OSError:  # gone, or not ours to read
            continue
        if (
            needle in cmdline
            or f"DATA_DIR={needle}".encode() in environ
            or Path(cwd).is_relative_to(folder)
        ):
            found.append((int(entry.name), cmdline.strip()))
    return found


class Receiver:
    """An HTTP server on 127.0.0.1 that keeps the headers of what is POSTed to it."""

    def __init__(self) -> None:
        received: list[dict[str, str]] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                received.append({name.lower(): value for name, value in self.headers.items()})
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.received = received
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Client:
    def __init__(self, base: str) -> None:
        self.base = base
        self.token = ""

    def request(
        self, method: str, path: str, *, body: bytes | None = None, content_type: str = ""
    ) -> tuple[int, dict[str, str], bytes]:
        url = path if path.startswith("http") else self.base + path
        headers = {"Authorization": f"Token {self.token}"} if self.token else {}
        if content_type:
            headers["Content-Type"] = content_type
        request = urllib.request.Request(url, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    def json(self, method: str, path: str, payload: Any = None, expect: int = 200) -> Any:
        body = None if payload is None else json.dumps(payload).encode()
        status, _, data = self.request(
            method, path, body=body, content_type="application/json" if body else ""
        )
        if status != expect:
            raise CheckFailed(f"{method} {path} answered {status}, not {expect}: {data[:500]!r}")
        return json.loads(data)

    def upload(self, path: str, file: Path) -> Any:
        boundary = uuid.uuid4().hex
        body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                f'filename="{file.name}"\r\nContent-Type: text/csv\r\n\r\n'
            ).encode()
            + file.read_bytes()
            + f"\r\n--{boundary}--\r\n".encode()
        )
        status, _, data = self.request(
            "POST", path, body=body, content_type=f"multipart/form-data; boundary={boundary}"
        )
        if status != 202:
            raise CheckFailed(f"upload answered {status}, not 202: {data[:500]!r}")
        return json.loads(data)


class Check:
    def __init__(self) -> None:
        self.folder = REPO_DIR / ".data" / f"check-make-run-{os.getpid()}"
        self.venv = self.folder / "venv"
        self.data = self.folder / "data"
        self.log = self.folder / "make-run.log"
        self.ports = {"PORT": free_port(), "PG_PORT": free_port(), "REDIS_PORT": free_port()}
        self.process: subprocess.Popen[bytes] | None = None
        self.started = time.monotonic()

    def say(self, message: str) -> None:
        print(f"[{time.monotonic() - self.started:6.1f} s] {message}", flush=True)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def alive(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            raise CheckFailed(f"make run exited with code {self.process.returncode}")

    def wait(self, what: str, timeout: float, probe: Callable[[], Any]) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.alive()
            result = probe()
            if result:
                return result
            time.sleep(0.25)
        raise CheckFailed(f"{what}: not within {timeout:.0f} s")

    def start(self) -> None:
        self.folder.mkdir(parents=True)
        # As root, the embedded PostgreSQL runs as the `postgres` user, which must reach its data.
        self.folder.chmod(0o711)
        env = {name: value for name, value in os.environ.items() if name not in UNSET}
        env.update({name: str(port) for name, port in self.ports.items()})
        env["DATA_DIR"] = str(self.data)
        command = ["make", "--no-print-directory", "run", f"VENV={self.venv.relative_to(REPO_DIR)}"]
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                command, cwd=REPO_DIR, env=env, stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        self.say(f"started {' '.join(command)} (its output: {self.log})")

    def banner(self) -> dict[str, str]:
        def parse() -> dict[str, str] | None:
            text = self.output()
            running = re.search(r"is running at (http://\S+?)/?$", text, re.MULTILINE)
            login = re.search(r"^\s*Login:\s+(\S+) / (\S+)\s*$", text, re.MULTILINE)
            token = re.search(r"Authorization: Token ([0-9a-f]+)", text)
            if not (running and login and token):
                return None
            return {"url": running.group(1), "username": login.group(1),
                    "password": login.group(2), "token": token.group(1)}  # fmt: skip

        found: dict[str, str] = self.wait("the banner of make run", BANNER_TIMEOUT, parse)
        self.say(f"banner: {found['url']}, login {found['username']}")
        return found

    def venv_matches_lock(self) -> None:
        """`pip list` of the venv against the lock's packages for its groups and this machine."""
        python = str(self.venv / "bin" / "python")
        exported = subprocess.run(
            [str(self.venv / "bin" / "uv"), "export", "--frozen", "--no-hashes", "--no-header",
             "--no-annotate", "--no-emit-project", "--format", "requirements-txt",
             "--group", "tools", "--group", "local"],
            cwd=REPO_DIR, capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        # The lock's markers, evaluated by the venv's own Python (packaging comes with kombu).
        evaluate = (
            "import sys; from packaging.requirements import Requirement\n"
            "for line in sys.stdin.read().splitlines():\n"
            "    r = Requirement(line)\n"
            "    if r.marker is None or r.marker.evaluate():\n"
            "        print(f'{r.name.lower()}=={next(iter(r.specifier)).version}')"
        )
        expected = subprocess.run(
            [python, "-c", evaluate], input=exported, capture_output=True, text=True, check=True
        ).stdout.split()
        frozen = subprocess.run(
            [python, "-m", "pip", "list", "--format=freeze", "--disable-pip-version-check"],
            capture_output=True, text=True, check=True,
        ).stdout.split()  # fmt: skip
        installed = [line.lower().replace("_", "-") for line in frozen]
        if sorted(installed) != sorted(expected):
            extra = sorted(set(installed) - set(expected))
            missing = sorted(set(expected) - set(installed))
            raise CheckFailed(f"the venv is not the lock: extra {extra}, missing {missing}")
        self.say(f"the venv holds exactly the lock's {len(expected)} packages for its groups")

    def use(self, base: str, login: dict[str, str]) -> None:
        client = Client(base)
        health = client.json("GET", "/healthz")
        if health.get("status") != "ok":
            raise CheckFailed(f"/healthz: {health}")
        token = client.json(
            "POST",
            "/api/auth/token/",
            {"username": login["username"], "password": login["password"]},
        )["token"]
        if token != login["token"]:
            raise CheckFailed("the token for the printed login is not the printed token")
        client.token = token
        self.say("/healthz ok; the printed login gives the printed token")

        with SAMPLE.open(newline="", encoding="utf-8") as sample:
            rows = sum(1 for _ in csv.DictReader(sample))
        job = client.upload("/api/products/upload/", SAMPLE)

        def finished() -> dict[str, Any] | None:
            state: dict[str, Any] = client.json("GET", job["status_url"])
            if state["status"] == "FAILED":
                raise CheckFailed(f"the import failed: {state['error_message']}")
            return state if state["status"] == "COMPLETED" else None

        done = self.wait("the import of products.csv", JOB_TIMEOUT, finished)
        count = client.json("GET", "/api/products/?page_size=1")["count"]
        if not (done["total_rows"] == done["processed_rows"] == rows and done["created_count"]):
            raise CheckFailed(f"the import's counts are not the file's {rows} rows: {done}")
        if count != done["created_count"]:
            raise CheckFailed(
                f"{count} products listed; the import created {done['created_count']}"
            )
        self.say(f"imported products.csv: {rows} rows, {done['created_count']} products created")

        receiver = Receiver()
        try:
            hook = client.json(
                "POST", "/api/webhooks/", {"url": receiver.url, "events": ["product.created"]}, 201
            )
            test = client.json("POST", f"/api/webhooks/{hook['id']}/test/")
            if not (test["ok"] and test["status_code"] == 204 and receiver.received):
                raise CheckFailed(f"webhook test: {test}, received {len(receiver.received)}")
            if "webhook-signature" not in receiver.received[0]:
                raise CheckFailed(f"the test event is not signed: {receiver.received[0]}")
        finally:
            receiver.close()
        self.say(f"webhook test: {test['status_code']} in {test['response_time_ms']} ms, signed")

        status, _, page = client.request("GET", "/")
        script = re.search(rb'<script type="module" crossorigin src="([^"]+)"', page)
        if status != 200 or not script:
            raise CheckFailed(f"/ answered {status} without the dashboard's script: {page[:300]!r}")
        status, _, code = client.request("GET", script.group(1).decode())
        if status != 200 or not code:
            raise CheckFailed(f"the dashboard's script {script.group(1)!r} answered {status}")
        self.say(f"/ serves the dashboard and its script ({len(code)} bytes)")

    def stop(self) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGINT)
        sent = time.monotonic()
        try:
            self.process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise CheckFailed(f"make run still runs {STOP_TIMEOUT} s after Ctrl-C") from None
        deadline = time.monotonic() + 10
        while processes_of(self.folder) and time.monotonic() < deadline:
            time.sleep(0.25)
        left = processes_of(self.folder)
        if left:
            raise CheckFailed(f"still running after Ctrl-C: {left}")
        listening = [port for port in self.ports.values() if not refuses(port)]
        if listening:
            raise CheckFailed(f"still listening after Ctrl-C: {listening}")
        if "Traceback" in self.output():
            raise CheckFailed("make run printed a traceback")
        self.say(f"Ctrl-C stopped everything in {time.monotonic() - sent:.1f} s; nothing left")

    def clean_up(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        for pid, _ in processes_of(self.folder):  # only what runs for this check's folder
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self.folder, ignore_errors=True)

    def run(self) -> int:
        try:
            self.start()
            login = self.banner()
            self.use(login["url"], login)
            self.venv_matches_lock()
            self.stop()
        except (CheckFailed, OSError) as failure:  # OSError: a request that the server dropped
            if self.process is not None and self.process.poll() is not None:
                failure = CheckFailed(f"{failure} (make run exited: {self.process.returncode})")
            tail = "\n".join(self.output().splitlines()[-40:])
            print(f"make run check FAILED: {failure}\n--- make run's output, last lines:\n{tail}")
            return 1
        finally:
            self.clean_up()
        self.say("make run check passed")
        return 0


if __name__ == "__main__":
    sys.exit(Check().run())
