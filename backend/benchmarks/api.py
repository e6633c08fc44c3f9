"""`make bench-api`: list, filter and search latency on 500,000 products, through the real server.

Loads 500,000 rows of the real file's shape (`scripts/make_dataset.py`; 466,693 distinct SKUs) with
COPY straight into a fresh database, rebuilds the search table, starts uvicorn as `make run` does,
and sends each query from a few concurrent clients. Prints p50 and p95 per query, for the search
table stale (right after an import) and fresh (after its rebuild).
"""

import argparse
import collections
import http.client
import importlib.util
import os
import re
import secrets
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from types import ModuleType
from urllib.parse import urlencode

import psycopg
import requests

from devstack.postgres import EmbeddedPostgres
from devstack.processes import (
    die_with_parent,
    free_port,
    web_command,
    worker_commands,
)

BACKEND_DIR = Path(__file__).resolve().parent.parent
REPO_DIR = BACKEND_DIR.parent
TARGET_P95_MS = 50.0
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


def load(conninfo: str, products: dict[str, tuple[str, str, str]]) -> None:
    with psycopg.connect(conninfo, autocommit=True) as conn, conn.cursor() as cursor:
        cursor.execute("TRUNCATE products_product, products_productsearch")
        with cursor.copy(
            "COPY products_product (name, sku, description, active, created_at, updated_at)"
            " FROM STDIN"
        ) as copy:
            for n, (name, sku, description) in enumerate(products.values()):
                # One product in twenty inactive, so `?active=false` has something to find.
                copy.write_row((name, sku, description, n % 20 != 0, "now", "now"))
        # What an import does: the search table is now stale.
        cursor.execute(
            "INSERT INTO products_searchindexstate AS s (id, fresh, generation)"
            " VALUES (1, false, 1) ON CONFLICT (id) DO UPDATE SET fresh = false,"
            " generation = s.generation + 1"
        )
        cursor.execute("VACUUM ANALYZE products_product")


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


def queries(t: dict[str, list[str]]) -> dict[str, list[dict[str, str]]]:
    def each(param: str, kind: str, transform: Callable[[str], str] = str) -> list[dict[str, str]]:
        return [{param: transform(term)} for term in t[kind]]

    return {
        "list": [{}],
        "list page 100": [{"page": "100"}],
        "ordering=name": [{"ordering": "name"}],
        "ordering=-updated_at": [{"ordering": "-updated_at"}],
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


def timed(
    connection: http.client.HTTPConnection,
    method: str,
    path: str,
    headers: dict[str, str],
    body: str | None = None,
) -> float:
    """One request over `connection`, answered 200; its latency in ms."""
    started = time.perf_counter()
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    response.read()
    latency = (time.perf_counter() - started) * 1000
    assert response.status == 200, (method, path, response.status)
    return latency


def client_run(
    port: int, token: str, variants: list[dict[str, str]], offset: int, step: int, n: int
) -> list[float]:
    """One client: `n` sequential requests over one keep-alive connection; latencies in ms."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Authorization": f"Token {token}", "Accept": "application/json"}
    latencies = []
    for k in range(n):
        params = variants[(k * step + offset) % len(variants)]
        latencies.append(timed(connection, "GET", f"/api/products/?{urlencode(params)}", headers))
    connection.close()
    return latencies


def measure(
    pool: ProcessPoolExecutor,
    port: int,
    token: str,
    variants: list[dict[str, str]],
    clients: int,
    requests_per_client: int,
) -> list[float]:
    """`clients` concurrent clients, each its own process, so they never share a GIL."""
    futures = [
        pool.submit(client_run, port, token, variants, k, clients, requests_per_client)
        for k in range(clients)
    ]
    return [latency for future in futures for latency in future.result()]


def percentile(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]


def report(
    title: str, port: int, token: str, t: dict[str, list[str]], clients: int, per_client: int
) -> list[tuple[str, float]]:
    url = f"http://127.0.0.1:{port}"
    print(f"\n{title}  ({clients} clients x {per_client} requests each)")
    print(f"  {'query':28} {'median count':>12} {'p50 ms':>8} {'p95 ms':>8}")
    results = []
    session = requests.Session()
    session.headers["Authorization"] = f"Token {token}"
    for label, variants in queries(t).items():
        counts = [
            session.get(f"{url}/api/products/", params=params, timeout=60).json()["count"]
            for params in variants
        ]
        count = round(statistics.median(counts))
        with ProcessPoolExecutor(clients) as pool:
            measure(pool, port, token, variants, clients, 2)  # warm the connections up
            latencies = measure(pool, port, token, variants, clients, per_client)
        p50, p95 = percentile(latencies, 50), percentile(latencies, 95)
        results.append((label, p95))
        flag = "" if p95 <= TARGET_P95_MS else "  over target"
        print(f"  {label:28} {count:>12} {p50:>8.1f} {p95:>8.1f}{flag}", flush=True)
    return results


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


def seconds_until_search_is_fresh(database_url: str) -> float:
    """Wait for the search table's rebuild after an import; how long it took from now."""
    started = time.perf_counter()
    with psycopg.connect(database_url, autocommit=True) as conn:
        while True:
            row = conn.execute("SELECT fresh FROM products_searchindexstate").fetchone()
            if row and row[0]:
                return time.perf_counter() - started
            time.sleep(0.1)


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
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--requests", type=int, default=25, help="per client and query")
    args = parser.parse_args()

    for server_url in postgres():
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {BENCH_DB}")
        database_url = re.sub(r"/[^/]*$", f"/{BENCH_DB}", server_url)
        env = django_env(database_url)
        manage(env, "migrate", "--noinput")
        token = bench_token(env)

        started = time.monotonic()
        products = catalog(args.rows)
        t = terms(products)
        load(
            psycopg.conninfo.make_conninfo(database_url.replace("postgres://", "postgresql://")),
            products,
        )
        seconds = time.monotonic() - started
        print(f"Loaded {len(products):,} products from {args.rows:,} rows in {seconds:.1f} s")
        print(f"Machine: {os.cpu_count()} CPUs, {cpu_model()}")
        print("Terms (first of 20 each):", {kind: values[0] for kind, values in t.items()})

        port = free_port()
        url = f"http://127.0.0.1:{port}"
        web = serve(env, port)
        try:
            wait_up(url)
            stale = report(
                "Search table stale (right after an import)",
                port,
                token,
                t,
                args.clients,
                max(2, args.requests // 5),
            )
            print("\n" + manage(env, "rebuild_search_index").strip())
            fresh = report("Search table fresh", port, token, t, args.clients, args.requests)
        finally:
            web.terminate()
            web.wait()
        worst = max(fresh, key=lambda item: item[1])
        print(f"\nfresh: worst p95 {worst[1]:.1f} ms ({worst[0]}), target {TARGET_P95_MS:.0f} ms")
        del stale
    return 0


if __name__ == "__main__":
    sys.exit(main())
