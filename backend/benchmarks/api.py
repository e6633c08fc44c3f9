"""`make bench-api`: the API's latency on 500,000 products, idle, during an import and after it.

Loads 500,000 rows of the real file's shape (`scripts/make_dataset.py`; 466,693 distinct SKUs) with
COPY straight into a fresh database, builds the search table, starts the web server and the
workers as `make run` does, and sends a mix of requests from 4 concurrent clients (processes of
their own, a new connection per request): every filter and search, the first, middle and last
page of each sort order (and `?page=last`), and PATCHes. Three phases: idle; during an import of
a 500,000-row file that rewrites every product's name but those the PATCHes use; and the 60 s
after it. Also how long a change takes to become searchable: after an API write, after a
10,000-row import and after the 500,000-row one. Prints p50, p95 and the slowest request per
phase, then the targets of issue 15, met or missed.
"""

import argparse
import collections
import csv
import importlib.util
import os
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Self

import psycopg
import requests

from devstack.postgres import EmbeddedPostgres
from devstack.processes import (
    die_with_parent,
    free_port,
    stop_process,
    web_command,
    worker_commands,
)
from devstack.redis_server import EmbeddedRedis

from . import load, web_cpu

BACKEND_DIR = Path(__file__).resolve().parent.parent
REPO_DIR = BACKEND_DIR.parent
# Issue 15's targets.
TARGET_P95_MS = 50.0
TARGET_LOADED_P95_MS = 150.0  # during an import, and in the minute after it
MAX_REQUEST_MS = 2000.0
TARGET_SEARCHABLE_S = 5.0  # after an API write or an import of up to 10,000 rows
TARGET_SEARCHABLE_BIG_S = 30.0  # after the 500,000-row import
BENCH_DB = "bench_api"


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown CPU"


def dataset_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "make_dataset", REPO_DIR / "scripts" / "make_dataset.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def catalog(rows: int) -> dict[str, tuple[str, str, str]]:
    """The file's rows as an import leaves them: one product per SKU in any case, last row wins."""
    products: dict[str, tuple[str, str, str]] = {}
    for name, sku, description in dataset_module().iter_products(rows, 42):
        products[sku.lower()] = (name, sku, description)
    return products


def load_catalog(conninfo: str, products: dict[str, tuple[str, str, str]]) -> None:
    with psycopg.connect(conninfo, autocommit=True) as conn, conn.cursor() as cursor:
        cursor.execute(
            "TRUNCATE products_product, products_productsearch, products_productsearchpending"
        )
        with cursor.copy(
            "COPY products_product (name, sku, description, active, created_at, updated_at)"
            " FROM STDIN"
        ) as copy:
            for n, (name, sku, description) in enumerate(products.values()):
                # One product in twenty inactive, so `?active=false` has something to find.
                copy.write_row((name, sku, description, n % 20 != 0, "now", "now"))
        # The triggers marked every product pending, as an import would: a rebuild follows.
        cursor.execute("VACUUM ANALYZE products_product")


def product_ids(conninfo: str, skus: list[str]) -> dict[str, int]:
    """The ids of the products of `skus`, by lower-cased SKU."""
    with psycopg.connect(conninfo) as conn:
        rows = conn.execute(
            "SELECT lower(sku), id FROM products_product WHERE lower(sku) = ANY(%s)",
            [[sku.lower() for sku in skus]],
        ).fetchall()
    return dict(rows)


def terms(products: dict[str, tuple[str, str, str]], n: int = 20) -> dict[str, list[str]]:
    """Search terms, `n` of each kind, so no query is answered from a warm cache of its own."""
    words: collections.Counter[str] = collections.Counter()
    rows = list(products.values())
    for name, _, description in rows[::50]:
        words.update(set(re.findall(r"[a-z]{4,}", f"{name} {description}".lower())))
    step = len(rows) // (n + 1)
    picks = [rows[step * (k + 1)] for k in range(n)]
    return {
        "frequent": [word for word, _ in words.most_common(n)],
        "rare_sku": [sku for _, sku, _ in picks],
        "rare_name": [name for name, _, _ in picks],
        "none": [f"qzx{k:02}v" for k in range(n)],
    }


ORDER_KEYS = ("id", "name", "sku", "created_at", "updated_at")
PAGE_SIZE = 25


def searches(t: dict[str, list[str]]) -> dict[str, list[dict[str, str]]]:
    """The filters and searches of the benchmark, each with its 20 terms."""

    def each(param: str, kind: str, transform: Callable[[str], str] = str) -> list[dict[str, str]]:
        return [{param: transform(term)} for term in t[kind]]

    return {
        "list": [{}],
        "sku= (exact)": each("sku", "rare_sku", str.upper),
        "active=false": [{"active": "false"}],
        "name= frequent": each("name", "frequent"),
        "name= rare": each("name", "rare_name"),
        "description= frequent": each("description", "frequent"),
        "description= rare": each("description", "rare_sku"),
        "search= frequent": each("search", "frequent"),
        "search= rare": each("search", "rare_sku"),
        "search= no match": each("search", "none"),
    }


def pages(count: int) -> dict[str, list[dict[str, str]]]:
    """The first, middle and last page of each sort order, for a catalog of `count` products:
    the last one by its number and as `?page=last` (the dashboard's Last button)."""
    last = max(1, -(-count // PAGE_SIZE))
    plan = {}
    for key in ORDER_KEYS:
        for ordering in (key, f"-{key}"):
            for where, page in (
                ("first", "1"),
                ("middle", str(max(1, last // 2))),
                ("last", str(last)),
                ("page=last", "last"),
            ):
                plan[f"ordering={ordering} {where}"] = [{"ordering": ordering, "page": page}]
    return plan


def patches(label: str, ids: list[int], expected: frozenset[int]) -> list[load.Request]:
    return [
        load.Request(
            label,
            method="PATCH",
            path=f"/api/products/{pk}/",
            body={"description": f"patched by the benchmark {k}"},
            expected=expected,
        )
        for k, pk in enumerate(ids)
    ]


def mix(labelled: dict[str, list[load.Request]]) -> list[load.Request]:
    """Every label's requests interleaved, each label as often as the others."""
    rounds = max(len(requests) for requests in labelled.values())
    return [requests[k % len(requests)] for k in range(rounds) for requests in labelled.values()]


def gets(queries: dict[str, list[dict[str, str]]]) -> dict[str, list[load.Request]]:
    return {
        label: [load.Request(label, params=params) for params in variants]
        for label, variants in queries.items()
    }


def plan(
    t: dict[str, list[str]], count: int, untouched: list[int], imported: list[int]
) -> list[load.Request]:
    labelled = gets({**searches(t), **pages(count)})
    labelled[PATCH] = patches(PATCH, untouched, frozenset({200}))
    labelled[PATCH_IMPORTED] = patches(PATCH_IMPORTED, imported, frozenset({200, 409}))
    return mix(labelled)


PATCH = "PATCH"
# A product that the running import writes: answered at once, or with a 409 within 2 s.
PATCH_IMPORTED = "PATCH, a row being imported"


def print_phases(phases: dict[str, dict[str, load.Summary]]) -> None:
    names = list(phases)
    labels = list(next(iter(phases.values())))
    header = "".join(f" {name + ' p50/p95/max ms':>30}" for name in names)
    print(f"\n  {'request':36}{header}")
    for label in labels:
        cells = []
        for name in names:
            summary = phases[name].get(label)
            if summary is None:
                cells.append(f" {'-':>30}")
                continue
            text = f"{summary.p50:.0f} / {summary.p95:.0f} / {summary.worst:.0f}"
            notes = []
            if summary.unexpected:
                notes.append(f"{summary.unexpected} failed")
            if summary.statuses.get(409):
                notes.append(f"{summary.statuses[409]}x409")
            if summary.catching_up:
                notes.append(f"{summary.catching_up} catching up")
            if notes:
                text = f"({', '.join(notes)}) {text}"
            cells.append(f" {text:>30}")
        print(f"  {label:36}{''.join(cells)}")
    counts = ", ".join(
        f"{name} {sum(s.count for s in summaries.values()):,}" for name, summaries in phases.items()
    )
    print(f"  requests: {counts}", flush=True)


def search_count(session: requests.Session, url: str, term: str) -> int:
    response = session.get(f"{url}/api/products/", params={"search": term}, timeout=30)
    response.raise_for_status()
    return int(response.json()["count"])


def seconds_until_found(session: requests.Session, url: str, term: str, count: int) -> float:
    """Search `term` until it finds `count` products; the seconds that took, from now."""
    started = time.perf_counter()
    while search_count(session, url, term) != count:
        if time.perf_counter() - started > 600:
            raise RuntimeError(f"{term!r} was not found {count} times in 10 minutes")
        time.sleep(0.1)
    return time.perf_counter() - started


# Each benchmark import file ends with these many rows carrying a word of their own (they come
# last, so they win over any earlier row of their SKU): the import is searchable once a search
# for the word finds them all.
MARKED_ROWS = 3


def write_import(
    path: Path,
    rows: list[tuple[str, str, str]],
    suffix: str,
    marker: str,
    marked: list[tuple[str, str, str]],
) -> None:
    """A CSV of `rows`, each name changed by `suffix`, then `marked`, `marker` in their names."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="", buffering=1 << 20) as handle:
        writer = csv.writer(handle)
        writer.writerow(("name", "sku", "description"))
        for words, group in ((suffix, rows), (marker, marked)):
            writer.writerows((f"{name} {words}", sku, text) for name, sku, text in group)


class Stack:
    """The web server and the workers as `make run` starts them, and an API session."""

    def __init__(self, env: dict[str, str], token: str) -> None:
        self.env, self.token, self.port = env, token, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Token {token}"

    def __enter__(self) -> Self:
        self.web = serve(self.env, self.port)
        self.workers = start_workers(self.env)
        wait_up(self.url)
        return self

    def __exit__(self, *exc: object) -> None:
        for process in (self.web, *self.workers.values()):
            stop_process(process)

    def upload(self, path: Path, **fields: str) -> str:
        with path.open("rb") as handle:
            response = self.session.post(
                f"{self.url}/api/products/upload/",
                files={"file": (path.name, handle)},
                data=fields,
                timeout=600,
            )
        assert response.status_code == 202, response.text
        return str(response.json()["status_url"])

    def wait(self, status_url: str) -> dict[str, object]:
        """Poll a job until it ends; it must end COMPLETED. Its last state."""
        while True:
            state: dict[str, object] = self.session.get(status_url, timeout=30).json()
            if state["status"] in ("COMPLETED", "FAILED", "CANCELLED"):
                assert state["status"] == "COMPLETED", state
                return state
            time.sleep(0.05)

    def load(self, plan: list[load.Request], clients: int, seconds: float) -> load.Clients:
        return load.Clients(self.port, self.token, plan, clients, seconds)


def django_env(database_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        SECRET_KEY=secrets.token_urlsafe(50),
        DEBUG="false",
        HTTPS="false",
        REDIS_URL=env.get("REDIS_URL", "redis://127.0.0.1:1/0"),  # the API reads no broker
    )
    # The clients send far more than a person's rate, and each throttle would keep a log of
    # every request of the last minute: they measure the API without throttles.
    for limit in ("ANONYMOUS_PER_ADDRESS", "REQUESTS_PER_USER", "JOBS_PER_USER"):
        env.setdefault(f"THROTTLE_{limit}", "off")
    return env


def manage(env: dict[str, str], *args: str) -> str:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BACKEND_DIR,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def bench_token(env: dict[str, str]) -> str:
    """A user `bench` (an admin) in the benchmark's database, and its API token."""
    return manage(
        env,
        "shell",
        "--no-imports",
        "-c",
        "from django.contrib.auth.models import User;"
        "from rest_framework.authtoken.models import Token;"
        "from core.roles import assign_role;"
        "u = User.objects.create_user('bench');"
        "assign_role(u, 'admin');"
        "print(Token.objects.create(user=u).key)",
    ).strip()


def serve(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        web_command(port, workers=2, log_level="warning"),
        cwd=BACKEND_DIR,
        env=env,
        preexec_fn=die_with_parent(15),
    )


def start_workers(env: dict[str, str]) -> dict[str, subprocess.Popen[bytes]]:
    """The Celery workers, as `make run` starts them (their banners left out), by name."""
    return {
        name: subprocess.Popen(
            command,
            cwd=BACKEND_DIR,
            env=env,
            stdout=subprocess.DEVNULL,
            preexec_fn=die_with_parent(15),
        )
        for name, command in worker_commands(concurrency=2, log_level="WARNING").items()
    }


PENDING_LEFT_SQL = "SELECT EXISTS (SELECT FROM products_productsearchpending)"


def seconds_until_search_is_synced(database_url: str) -> float:
    """Wait until the search upkeep has applied every pending product; how long from now."""
    started = time.perf_counter()
    with psycopg.connect(database_url, autocommit=True) as conn:
        while conn.execute(PENDING_LEFT_SQL).fetchone() == (True,):
            time.sleep(0.1)
    return time.perf_counter() - started


def wait_up(url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            requests.get(f"{url}/api/", timeout=2)
            return
        except requests.ConnectionError:
            time.sleep(0.2)
    raise RuntimeError("the web server did not start")


def postgres() -> Iterator[str]:
    """A database URL: DATABASE_URL's server if set, else an embedded one for the benchmark."""
    if os.environ.get("DATABASE_URL"):
        yield os.environ["DATABASE_URL"]
        return
    server = EmbeddedPostgres(REPO_DIR / ".data" / "bench-postgres", free_port())
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--idle-seconds", type=float, default=40)
    parser.add_argument("--after-seconds", type=float, default=60)
    parser.add_argument(
        "--web-cpu-only",
        action="store_true",
        help="the web CPU per request alone (make bench-web-cpu)",
    )
    args = parser.parse_args()

    redis = EmbeddedRedis(REPO_DIR / ".data" / "bench-api-redis", free_port())
    redis.start()
    try:
        for server_url in postgres():
            run(args, server_url, redis.url)
    finally:
        redis.stop()
    return 0


def run(args: argparse.Namespace, server_url: str, redis_url: str) -> None:
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {BENCH_DB}")
    database_url = re.sub(r"/[^/]*$", f"/{BENCH_DB}", server_url)
    env = django_env(database_url)
    env.update(REDIS_URL=redis_url, MEDIA_ROOT=str(REPO_DIR / ".data" / "bench-api-media"))
    manage(env, "migrate", "--noinput")
    token = bench_token(env)

    started = time.monotonic()
    products = catalog(args.rows)
    t = terms(products)
    conninfo = psycopg.conninfo.make_conninfo(database_url.replace("postgres://", "postgresql://"))
    load_catalog(conninfo, products)
    manage(env, "rebuild_search_index")
    seconds = time.monotonic() - started
    print(f"Loaded {len(products):,} products from {args.rows:,} rows in {seconds:.1f} s")
    print(f"Machine: {os.cpu_count()} CPUs, {cpu_model()}; {args.clients} clients")
    print("Terms (first of 20 each):", {kind: values[0] for kind, values in t.items()})

    # Products the big import leaves alone (the PATCHes that must keep their speed), products it
    # rewrites (the PATCHes that may get a 409), and the rest.
    rows = list(products.values())
    untouched_rows, imported_rows = rows[7::997][:20], rows[11::997][:20]
    untouched_keys = {sku.lower() for _, sku, _ in untouched_rows}
    ids = product_ids(conninfo, [sku for _, sku, _ in untouched_rows + imported_rows])
    untouched = [ids[sku.lower()] for _, sku, _ in untouched_rows]
    imported = [ids[sku.lower()] for _, sku, _ in imported_rows]
    cpu_ratios = web_cpu.report(env, token, untouched[0])
    if args.web_cpu_only:
        verdicts({}, {}, args.rows, cpu_ratios)
        return
    big = REPO_DIR / ".data" / "bench-api-import.csv"
    small = REPO_DIR / ".data" / "bench-api-import-10k.csv"
    rest = [
        row
        for row in dataset_module().iter_products(args.rows, 42)
        if row[1].lower() not in untouched_keys
    ]
    marked = rows[13 :: (len(rows) // MARKED_ROWS)][:MARKED_ROWS]
    write_import(big, rest, "mk2", "zqxbigimport", marked)
    write_import(small, rows[5 : 5 + 10_000 - MARKED_ROWS], "tenk", "zqxsmallimport", marked)
    count = len(products)
    mixed = plan(t, count, untouched, imported)

    phases: dict[str, dict[str, load.Summary]] = {}
    found: dict[str, float] = {}
    with Stack(env, token) as stack:
        print(f"\nIdle, {args.idle_seconds:.0f} s...", flush=True)
        idle = stack.load(mixed, args.clients, args.idle_seconds)
        phases["idle"] = load.summarize(idle.samples())

        for k in range(3):
            word = f"zqxwrite{k}"
            response = stack.session.patch(
                f"{stack.url}/api/products/{untouched[k]}/",
                json={"name": f"{untouched_rows[k][0]} {word}"},
                timeout=30,
            )
            response.raise_for_status()
            found[f"API write {k + 1}"] = seconds_until_found(stack.session, stack.url, word, 1)

        started = time.perf_counter()
        status_url = stack.upload(small)
        stack.wait(status_url)
        found["10,000-row import: upload to COMPLETED"] = time.perf_counter() - started
        found["10,000-row import"] = seconds_until_found(
            stack.session, stack.url, "zqxsmallimport", MARKED_ROWS
        )

        print(f"During the {args.rows:,}-row import...", flush=True)
        clients = stack.load(mixed, args.clients, 3600)
        started = time.perf_counter()
        status_url = stack.upload(big)
        stack.wait(status_url)
        clients.stop()
        found[f"{args.rows:,}-row import: upload to COMPLETED"] = time.perf_counter() - started
        phases["during import"] = load.summarize(clients.samples())

        print(f"The {args.after_seconds:.0f} s after it...", flush=True)
        clients = stack.load(mixed, args.clients, args.after_seconds)
        found[f"{args.rows:,}-row import"] = seconds_until_found(
            stack.session, stack.url, "zqxbigimport", MARKED_ROWS
        )
        phases["after import"] = load.summarize(clients.samples())

    print_phases(phases)
    print("\nSearchable after the change (seconds from the write's answer, or from COMPLETED):")
    for label, seconds in found.items():
        print(f"  {label:48} {seconds:6.1f} s")
    verdicts(phases, found, args.rows, cpu_ratios)


def verdicts(
    phases: dict[str, dict[str, load.Summary]],
    found: dict[str, float],
    rows: int,
    cpu_ratios: dict[str, float],
) -> None:
    print("\nTargets:")

    def line(target: str, value: str, met: bool) -> None:
        print(f"  {target:56} {value:34} {'met' if met else 'MISSED'}")

    for target in web_cpu.targets(cpu_ratios):
        line(*target)
    if not phases:
        return

    for phase, summaries in phases.items():
        limit = TARGET_P95_MS if phase == "idle" else TARGET_LOADED_P95_MS
        # The PATCH of a row being imported is held to the 2 s bound, not the p95.
        judged = [s for s in summaries.values() if s.label != PATCH_IMPORTED or phase == "idle"]
        worst = max(judged, key=lambda summary: summary.p95)
        line(
            f"p95 {phase} at most {limit:.0f} ms",
            f"worst {worst.p95:.0f} ms ({worst.label})",
            worst.p95 <= limit,
        )
    slowest = max(
        ((phase, s) for phase, summaries in phases.items() for s in summaries.values()),
        key=lambda item: item[1].worst,
    )
    line(
        f"no request over {MAX_REQUEST_MS / 1000:.0f} s",
        f"slowest {slowest[1].worst:.0f} ms ({slowest[1].label}, {slowest[0]})",
        slowest[1].worst <= MAX_REQUEST_MS,
    )
    failed = sum(s.unexpected for summaries in phases.values() for s in summaries.values())
    line("every answer expected (200; 409 for a row being imported)", f"{failed} not", not failed)
    searchable = {
        "an API write": (
            max(seconds for label, seconds in found.items() if label.startswith("API write")),
            TARGET_SEARCHABLE_S,
        ),
        "a 10,000-row import": (found["10,000-row import"], TARGET_SEARCHABLE_S),
        f"the {rows:,}-row import": (found[f"{rows:,}-row import"], TARGET_SEARCHABLE_BIG_S),
    }
    for change, (seconds, limit) in searchable.items():
        line(f"searchable {limit:.0f} s after {change}", f"{seconds:.1f} s", seconds <= limit)


if __name__ == "__main__":
    sys.exit(main())
