"""The web server's CPU per request, against the floor of two bare views (issue 15).

Starts the web server as `make run` does (`devstack.processes.web_server`: uvicorn, one worker,
the app's settings plus the two bare views of `benchmarks.settings`) twice side by side on the
same database: with DJANGO_HANDLER=asgi (every Django request on Django's ASGI handler, as
before ADR 19) and with the default (Django's WSGI handler behind `core.wsgi_bridge`). Each
request opens a connection of its own, one after another; the CPU that the server's process
used (user + system, through psutil) over `requests` requests of one kind, divided by their
number, is that kind's CPU per request. Rounds alternate the kinds and the two servers; the
median of the rounds is printed, with each kind's ratio to the bare DRF view on the same server.

Kinds: a 404 (an unknown path), a product, a list page (25 rows), a PATCH; the bare Django view
(a few bytes) and the bare DRF view (25 products serialized from memory), which pass the same
middleware but no authentication, permission, throttle or database.

`make bench-api` reports it on its 500,000 products before its load phases; `make
bench-web-cpu` on a smaller catalog alone (`benchmarks.api --web-cpu-only`).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import statistics
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil

from devstack.processes import web_server

BACKEND_DIR = Path(__file__).resolve().parent.parent
# Issue 15: a list page and a retrieve cost at most this many times the bare DRF view's CPU.
TARGET_RATIO = 2.5
HANDLERS = ("asgi", "wsgi")
BARE_DRF = "bare DRF view (25 rows)"
JUDGED = ("product", "list page (25 rows)")


@dataclass(frozen=True)
class Kind:
    label: str
    method: str
    path: str
    status: int
    authorized: bool = True
    patch: bool = False


def kinds(product_id: int) -> list[Kind]:
    return [
        Kind("404", "GET", "/api/no-such-thing/", 404),
        Kind("product", "GET", f"/api/products/{product_id}/", 200),
        Kind("list page (25 rows)", "GET", "/api/products/?page=2", 200),
        Kind("PATCH", "PATCH", f"/api/products/{product_id}/", 200, patch=True),
        Kind("bare Django view", "GET", "/bench/django/", 200, authorized=False),
        Kind(BARE_DRF, "GET", "/bench/drf/", 200, authorized=False),
    ]


@dataclass
class Server:
    handler: str
    port: int
    process: subprocess.Popen[bytes]

    def cpu_seconds(self) -> float:
        """User + system CPU of the server's process and its children so far."""
        process = psutil.Process(self.process.pid)
        total = 0.0
        for each in [process, *process.children(recursive=True)]:
            times = each.cpu_times()
            total += times.user + times.system
        return total


@contextlib.contextmanager
def servers(env: dict[str, str]) -> Iterator[list[Server]]:
    """One web server per handler, as `make run` starts it but with one worker."""
    with contextlib.ExitStack() as stack:
        started = []
        for handler in HANDLERS:
            settings = {
                "DJANGO_HANDLER": handler,
                "DJANGO_SETTINGS_MODULE": "benchmarks.settings",
            }
            port, process = stack.enter_context(web_server({**env, **settings}, BACKEND_DIR))
            started.append(Server(handler, port, process))
        yield started


def send(port: int, token: str, kind: Kind, n: int) -> None:
    """One request of `kind` on a connection of its own; AssertionError on another status."""
    headers = {"Accept": "application/json"}
    if kind.authorized:
        headers["Authorization"] = f"Token {token}"
    body = None
    if kind.patch:
        body = json.dumps({"name": f"Web CPU benchmark {n % 2}"})
        headers["Content-Type"] = "application/json"
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(kind.method, kind.path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        assert response.status == kind.status, (kind.label, response.status)
    finally:
        connection.close()


def cpu_ms(server: Server, token: str, kind: Kind, requests: int) -> float:
    """The server's CPU per request over `requests` requests of `kind`, in ms."""
    for n in range(5):  # warm: the connection pool, the URL resolver's caches
        send(server.port, token, kind, n)
    before = server.cpu_seconds()
    for n in range(requests):
        send(server.port, token, kind, n)
    return (server.cpu_seconds() - before) * 1000 / requests


def measure(
    env: dict[str, str], token: str, product_id: int, *, requests: int, rounds: int
) -> dict[str, dict[str, float]]:
    """The median CPU ms per request, by handler and kind."""
    samples: dict[str, dict[str, list[float]]] = {h: {} for h in HANDLERS}
    with servers(env) as started:
        for _ in range(rounds):
            for kind in kinds(product_id):
                for server in started:
                    ms = cpu_ms(server, token, kind, requests)
                    samples[server.handler].setdefault(kind.label, []).append(ms)
    return {
        handler: {label: statistics.median(values) for label, values in by_kind.items()}
        for handler, by_kind in samples.items()
    }


def report(
    env: dict[str, str], token: str, product_id: int, *, requests: int = 200, rounds: int = 3
) -> dict[str, float]:
    """Measure and print; the judged kinds' ratios to the bare DRF view, on the WSGI bridge."""
    print(
        f"\nWeb-server CPU per request ({rounds} rounds of {requests} requests each, a "
        "connection per request, one uvicorn worker; median of the rounds):",
        flush=True,
    )
    results = measure(env, token, product_id, requests=requests, rounds=rounds)
    print(f"  {'':28} {'ASGI handler':>20} {'WSGI bridge (now)':>20} {'now/before':>11}")
    for label in results["wsgi"]:
        cells = []
        for handler in HANDLERS:
            ms = results[handler][label]
            cells.append(f"{ms:6.2f} ms ({ms / results[handler][BARE_DRF]:4.1f}x)")
        change = results["wsgi"][label] / results["asgi"][label]
        print(f"  {label:28} {cells[0]:>20} {cells[1]:>20} {change:10.2f}x")
    print("  (x: the ratio to the bare DRF view on the same server)")
    return {label: results["wsgi"][label] / results["wsgi"][BARE_DRF] for label in JUDGED}


def targets(ratios: dict[str, float]) -> list[tuple[str, str, bool]]:
    """Issue 15's target for each judged kind: (target, value, met)."""
    return [
        (
            f"web CPU of a {label} at most {TARGET_RATIO}x bare DRF",
            f"{ratio:.2f}x",
            ratio <= TARGET_RATIO,
        )
        for label, ratio in ratios.items()
    ]
