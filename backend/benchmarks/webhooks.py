"""`make bench-webhooks`: what 10 webhooks, one of them never answering, cost the import and API.

Runs one scenario `--rounds` times each way, in the order none, webhooks, webhooks, none, ...
(ABBA), through the real stack (uvicorn with 2 workers and the Celery workers of `make run`):
with no webhook, and with 10 enabled webhooks subscribed to every event, 9 answering 200 and one
that accepts connections and never answers. Each run:

1. imports a `--rows` CSV (`scripts/make_dataset.py`, 500,000 rows by default) through
   `POST /api/products/upload/`, while clients list products and PATCH products (p95 measured);
2. sends a burst of `--burst` PATCH updates (1,000 by default) from concurrent clients (p95
   measured), then checks that each webhook got one delivery per update, and waits for the 9
   answering receivers to have every event of the run.

Prints, for each way, the median of each run's figures and the percentiles of the requests of
all its runs together (a p95 of one run rests on its few slowest requests), and the ratio of
the webhooks runs to the runs without.

Runs that long vary on a shared machine by more than the 5 % sought, so it then measures the
burst itself in shorter blocks: `--burst-blocks` bursts of `--block-size` PATCH updates (200)
each way from the same clients, on the last run's catalog, with the 10 webhooks enabled and
disabled in turn (ABBA, so that a drift of the machine's speed falls on both). Each block starts
once the dispatcher has sent the last one's events and ended, so that it wakes for each burst as
it would after a calm.

The module is longer than the guide of about 300 lines because it is one experiment, read top to
bottom (its receivers, its clients, one run, the burst blocks, the report), and no part of it
serves anything else.
"""

import argparse
import asyncio
import http.client
import json
import os
import re
import statistics
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from multiprocessing import Process
from pathlib import Path
from typing import Any

import psutil
import psycopg
import requests

from devstack.background import lowest_priority
from devstack.processes import free_port, stop_process
from devstack.redis_server import EmbeddedRedis

from .api import (
    REPO_DIR,
    bench_token,
    cpu_model,
    dataset_module,
    django_env,
    manage,
    postgres,
    seconds_until_search_is_synced,
    serve,
    start_workers,
    wait_up,
)
from .load import percentile, timed

BENCH_DB = "bench_webhooks"
LABELS = ("no webhooks", "10 webhooks")
HEALTHY = 9
EVENTS = [
    "product.created",
    "product.updated",
    "product.deleted",
    "import.completed",
    "import.failed",
    "products.bulk_deleted",
]


def receivers(port: int, dead_port: int) -> None:
    """In a process of its own: `200` for every POST on `port` (counted by path; `GET /` answers
    the counts), and on `dead_port` connections accepted and never answered.

    The receivers stand for other systems, on other machines: they run at the lowest CPU
    priority (as the webhooks worker does) and cost as little as they can (an asyncio protocol
    that answers a fixed `200`), so that what is measured is the stack's.
    """
    lowest_priority()
    counts: Counter[str] = Counter()
    held: list[asyncio.Transport] = []

    class Receiver(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            assert isinstance(transport, asyncio.Transport)
            self.transport, self.buffer = transport, b""

        def data_received(self, data: bytes) -> None:
            self.buffer += data
            while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
                head = self.buffer[:end]
                length = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
                size = end + 4 + (int(length.group(1)) if length else 0)
                if len(self.buffer) < size:
                    return
                self.buffer = self.buffer[size:]
                method, path = head.split(b" ", 2)[:2]
                if method == b"GET":
                    body = json.dumps({**counts, "dead": len(held)}).encode()
                else:
                    counts[path.decode()] += 1
                    body = b""
                self.transport.write(
                    b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
                )

    class Silent(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            assert isinstance(transport, asyncio.Transport)
            held.append(transport)

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        await loop.create_server(Silent, "127.0.0.1", dead_port, backlog=1024)
        server = await loop.create_server(Receiver, "127.0.0.1", port, backlog=1024)
        await server.serve_forever()

    asyncio.run(serve())


def request(port: int, method: str, path: str, headers: dict[str, str], body: str | None) -> float:
    """One request on a connection of its own; ms. A kept-alive connection stays with the web
    worker that accepted it: two clients on one of the web workers left the other idle, and ran
    slower in about half the runs (docs/benchmarks.md, "Webhooks' cost")."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        return timed(connection, method, path, {**headers, "Connection": "close"}, body)
    finally:
        connection.close()


def client_mix(
    port: int, token: str, ids: list[int], offset: int, stop_file: str, limit: int
) -> list[tuple[str, float]]:
    """One client: a list, then a PATCH, alternately, until `stop_file` exists or `limit`
    requests are made; (kind, ms) per request."""
    headers = {
        "Authorization": f"Token {token}",
        "Accept": "application/json",
        "Content-Type": "application/json",
    }
    latencies: list[tuple[str, float]] = []
    k = offset
    while len(latencies) < limit and not os.path.exists(stop_file):
        k += 1
        if k % 2:
            method, path, body = "GET", "/api/products/", None
        else:
            product = ids[k % len(ids)]
            method, path = "PATCH", f"/api/products/{product}/"
            body = json.dumps({"description": f"burst {k}"})
        latencies.append((method, request(port, method, path, headers, body)))
    return latencies


def burst(port: int, token: str, ids: list[int], offset: int, count: int) -> list[float]:
    """`count` PATCH updates back to back; ms each."""
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
    latencies = []
    for k in range(count):
        path = f"/api/products/{ids[(offset + k) % len(ids)]}/"
        body = json.dumps({"name": f"Burst {offset}-{k}"})
        latencies.append(request(port, "PATCH", path, headers, body))
    return latencies


def p95(values: list[float]) -> float:
    return percentile(values, 95) if len(values) >= 2 else (values[0] if values else 0.0)


class Run:
    """One scenario against the running stack; `figures` and `latencies` (ms per request, by
    kind) collect what it measured."""

    def __init__(
        self,
        url: str,
        port: int,
        token: str,
        database_url: str,
        clients: int,
        worker: psutil.Process | None = None,
    ) -> None:
        self.url, self.port, self.token, self.clients = url, port, token, clients
        self.worker = worker  # the webhooks worker, whose CPU it measures
        self.conninfo = database_url.replace("postgres://", "postgresql://")
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Token {token}"
        self.figures: dict[str, float] = {}
        self.latencies: dict[str, list[float]] = {}
        # What the receivers had from earlier runs, by path.
        self.received: dict[str, int] = {}

    def reset(self, *, catalog: bool = True) -> None:
        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            if catalog:
                conn.execute("TRUNCATE products_product, products_productsearch")
            # In the order the dispatcher takes them, so as not to deadlock with it.
            conn.execute("TRUNCATE webhooks_event, webhooks_delivery, webhooks_webhook")
            # Every run starts alike: with no vacuum of the last one's writes under way.
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and conn.execute(AUTOVACUUM_SQL).fetchall():
                time.sleep(0.5)

    def seed(self, prefix: str = "BENCH-SEED", count: int = 100) -> list[int]:
        """Products the clients PATCH; created through the API (so they send events too)."""
        ids = []
        for n in range(count):
            response = self.session.post(
                f"{self.url}/api/products/",
                json={"name": f"Seed {n}", "sku": f"{prefix}-{n}"},
                timeout=30,
            )
            response.raise_for_status()
            ids.append(response.json()["id"])
        return ids

    def subscribe(self, receiver_port: int, dead_port: int) -> list[int]:
        self.received = requests.get(f"http://127.0.0.1:{receiver_port}/", timeout=10).json()
        urls = [f"http://127.0.0.1:{receiver_port}/hook-{n}" for n in range(HEALTHY)]
        urls.append(f"http://127.0.0.1:{dead_port}/never")
        ids = []
        for url in urls:
            response = self.session.post(
                f"{self.url}/api/webhooks/", json={"url": url, "events": EVENTS}, timeout=30
            )
            response.raise_for_status()
            ids.append(response.json()["id"])
        return ids

    def worker_cpu(self) -> float:
        """CPU seconds the webhooks worker has used so far."""
        return sum(self.worker.cpu_times()[:2]) if self.worker else 0.0

    def import_under_load(self, dataset: Path, ids: list[int]) -> None:
        cpu = self.worker_cpu()
        stop_file = str(REPO_DIR / ".data" / f"bench-webhooks-stop-{os.getpid()}")
        Path(stop_file).unlink(missing_ok=True)
        with ProcessPoolExecutor(self.clients) as pool:
            with dataset.open("rb") as file:
                response = self.session.post(
                    f"{self.url}/api/products/upload/",
                    files={"file": (dataset.name, file, "text/csv")},
                    timeout=600,
                )
            response.raise_for_status()
            job = response.json()
            futures = [
                pool.submit(client_mix, self.port, self.token, ids, k, stop_file, 100_000)
                for k in range(self.clients)
            ]
            while job["status"] not in {"COMPLETED", "FAILED"}:
                time.sleep(0.2)
                job = self.session.get(job["status_url"], timeout=30).json()
            Path(stop_file).touch()
            latencies = [item for future in futures for item in future.result()]
        Path(stop_file).unlink(missing_ok=True)
        assert job["status"] == "COMPLETED", job
        seconds = (
            datetime.fromisoformat(job["finished_at"]) - datetime.fromisoformat(job["started_at"])
        ).total_seconds()
        self.figures["import s (started to finished)"] = seconds
        # From the upload on: includes waiting for a free worker process.
        self.figures["import s (uploaded to finished)"] = (
            datetime.fromisoformat(job["finished_at"]) - datetime.fromisoformat(job["created_at"])
        ).total_seconds()
        self.figures["import: attempts sent meanwhile"] = self.attempts_between(
            job["started_at"], job["finished_at"]
        )
        self.figures["import: webhooks worker CPU s meanwhile"] = self.worker_cpu() - cpu
        for method in ("GET", "PATCH"):
            values = [ms for kind, ms in latencies if kind == method]
            self.latencies[f"during import: {method}"] = values
            self.figures[f"during import: {method} requests"] = len(values)
        print(
            f"  import of {job['total_rows']:,} rows: {seconds:.1f} s; "
            f"{len(latencies):,} API requests meanwhile",
            flush=True,
        )

    def concurrent_burst(self, ids: list[int], count: int, offset: int = 0) -> list[float]:
        """`count` PATCH updates shared by the clients; ms each."""
        share = [count // self.clients + (k < count % self.clients) for k in range(self.clients)]
        with ProcessPoolExecutor(self.clients) as pool:
            futures = [
                pool.submit(burst, self.port, self.token, ids, offset + k * 1000, n)
                for k, n in enumerate(share)
            ]
            return [ms for future in futures for ms in future.result()]

    def burst(self, ids: list[int], count: int) -> int:
        """The burst; returns the last event id from before it."""
        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            row = conn.execute("SELECT coalesce(max(id), 0) FROM webhooks_event").fetchone()
            before = int(row[0]) if row else 0
            self.figures["burst: events not yet sent at its start"] = unsent(conn)
        cpu = self.worker_cpu()
        started, started_at = time.perf_counter(), datetime.now(UTC).isoformat()
        latencies = self.concurrent_burst(ids, count)
        seconds = time.perf_counter() - started
        self.figures["burst: attempts sent meanwhile"] = self.attempts_between(
            started_at, datetime.now(UTC).isoformat()
        )
        self.figures["burst: webhooks worker CPU s meanwhile"] = self.worker_cpu() - cpu
        self.latencies["burst: PATCH"] = latencies
        self.figures["burst s"] = seconds
        print(
            f"  burst of {count:,} updates: {seconds:.1f} s; PATCH p50 "
            f"{percentile(latencies, 50):.1f} ms, p95 {p95(latencies):.1f} ms",
            flush=True,
        )
        return before

    def attempts_between(self, start: str, end: str) -> int:
        """Deliveries whose last attempt fell between two ISO times (first attempts, mostly)."""
        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            row = conn.execute(
                "SELECT count(*) FROM webhooks_delivery WHERE last_attempt_at BETWEEN %s AND %s",
                [start, end],
            ).fetchone()
        return int(row[0]) if row else 0

    def check_deliveries(
        self, after_id: int, webhook_ids: list[int], count: int, receiver_port: int
    ) -> None:
        started = time.monotonic()
        deadline = started + 600
        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            # The dispatcher makes the deliveries of the burst's events once the burst is over.
            while conn.execute("SELECT FROM webhooks_event WHERE NOT fanned_out").fetchall():
                assert time.monotonic() < deadline, "events not made into deliveries"
                time.sleep(0.2)
            per_webhook: dict[int, int] = dict(
                conn.execute(
                    "SELECT webhook_id, count(*) FROM webhooks_delivery d"
                    " JOIN webhooks_event e ON e.id = d.event_id"
                    " WHERE e.id > %s AND e.type = 'product.updated' GROUP BY webhook_id",
                    [after_id],
                ).fetchall()
            )
            # Every delivery of the run (seeds, updates during the import, the import, the burst).
            total = conn.execute(
                "SELECT count(*) FROM webhooks_delivery WHERE webhook_id = %s", [webhook_ids[0]]
            ).fetchone()
        expected = int(total[0]) if total else 0
        before = self.received
        paths = [f"/hook-{n}" for n in range(HEALTHY)]
        made = [per_webhook.get(pk, 0) for pk in webhook_ids]
        print(f"  deliveries made per webhook: {made} (expected {count} each)", flush=True)
        self.figures["burst: webhooks with every delivery"] = sum(n == count for n in made)
        while True:
            counts = requests.get(f"http://127.0.0.1:{receiver_port}/", timeout=10).json()
            healthy = [counts.get(path, 0) - before.get(path, 0) for path in paths]
            if min(healthy) >= expected or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        drained = time.monotonic() - started
        self.figures["burst: s until the 9 answering receivers had all"] = drained
        print(
            f"  each answering receiver got {min(healthy):,}-{max(healthy):,} of the run's "
            f"{expected:,} events (all: {'yes' if min(healthy) >= expected else 'NO'}) "
            f"{drained:.1f} s after the burst; the silent one was sent "
            f"{counts.get('dead', 0)} connections",
            flush=True,
        )

    def dispatcher_cost(self, cpu_seconds: float) -> None:
        """The webhooks worker's CPU per attempt over the run (PostgreSQL's share not counted)."""
        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            row = conn.execute("SELECT sum(attempts) FROM webhooks_delivery").fetchone()
        attempts = int(row[0]) if row and row[0] else 0
        self.figures["webhooks worker: CPU ms per attempt"] = cpu_seconds * 1000 / max(attempts, 1)
        print(f"  webhooks worker: {cpu_seconds:.1f} s of CPU for {attempts:,} attempts")


AUTOVACUUM_SQL = "SELECT FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'"
# Events some webhook has not been sent yet (no delivery made, or none attempted).
UNSENT_EVENTS_SQL = """
    SELECT count(*) FROM webhooks_event AS e WHERE NOT e.fanned_out OR EXISTS (
        SELECT FROM webhooks_delivery AS d
        WHERE d.event_id = e.id AND d.status = 'pending' AND d.attempts = 0
    )
"""


def unsent(conn: psycopg.Connection[Any]) -> int:
    """Events some webhook has not been sent yet."""
    row = conn.execute(UNSENT_EVENTS_SQL).fetchone()
    return int(row[0]) if row else 0


def stack_env(database_url: str, redis_url: str) -> dict[str, str]:
    env = django_env(database_url)
    env.update(
        REDIS_URL=redis_url,
        WEBHOOK_ALLOW_PRIVATE_TARGETS="true",
        MEDIA_ROOT=str(REPO_DIR / ".data" / "bench-webhooks-media"),
        DATABASE_POOL_SIZE="8",
    )
    for name in list(env):
        if name.startswith("WEBHOOK_") and name != "WEBHOOK_ALLOW_PRIVATE_TARGETS":
            env.pop(name)  # the production defaults
    return env


def dataset_path(rows: int) -> Path:
    path = REPO_DIR / ".data" / f"bench-webhooks-{rows}.csv"
    if not path.exists():
        print(f"Writing {rows:,} rows to {path}...", flush=True)
        dataset_module().write_products_csv(path, rows, 42)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=500_000, help="rows of the imported CSV")
    parser.add_argument("--burst", type=int, default=1000, help="PATCH updates in the burst")
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument(
        "--rounds", type=int, default=5, help="runs of each scenario, alternating; medians shown"
    )
    parser.add_argument(
        "--burst-blocks",
        type=int,
        default=20,
        help="bursts each way, webhooks enabled and disabled in turn (0: skip)",
    )
    parser.add_argument("--block-size", type=int, default=200, help="PATCH updates in a block")
    args = parser.parse_args()

    dataset = dataset_path(args.rows)
    redis = EmbeddedRedis(REPO_DIR / ".data" / "bench-webhooks-redis", free_port())
    redis.start()
    receiver_port, dead_port = free_port(), free_port()
    receiver = Process(target=receivers, args=(receiver_port, dead_port), daemon=True)
    receiver.start()
    try:
        for server_url in postgres():
            with psycopg.connect(server_url, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
                conn.execute(f"CREATE DATABASE {BENCH_DB}")
            database_url = re.sub(r"/[^/]*$", f"/{BENCH_DB}", server_url)
            env = stack_env(database_url, redis.url)
            manage(env, "migrate", "--noinput")
            token = bench_token(env)
            print(f"Machine: {os.cpu_count()} CPUs, {cpu_model()}")
            print(f"Dataset: {dataset} ({args.rows:,} rows); burst of {args.burst:,} updates")
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            web = serve(env, port)
            workers = start_workers(env)
            dispatcher = psutil.Process(workers["webhooks worker"].pid)
            try:
                wait_up(url)
                results: dict[str, list[Run]] = {LABELS[0]: [], LABELS[1]: []}
                for n in range(2 * args.rounds):
                    label = LABELS[(n + n // 2) % 2]  # ABBA
                    print(f"\n{label} (round {n // 2 + 1} of {args.rounds})", flush=True)
                    run = Run(url, port, token, database_url, args.clients, dispatcher)
                    run.reset()
                    hooked = label == LABELS[1]
                    webhook_ids = run.subscribe(receiver_port, dead_port) if hooked else []
                    cpu_before = run.worker_cpu()
                    ids = run.seed()
                    run.import_under_load(dataset, ids)
                    # The burst, and the next run, start once the import's search upkeep ends.
                    seconds_until_search_is_synced(run.conninfo)
                    after_id = run.burst(ids, args.burst)
                    if webhook_ids:
                        run.check_deliveries(after_id, webhook_ids, args.burst, receiver_port)
                        run.dispatcher_cost(run.worker_cpu() - cpu_before)
                    results[label].append(run)
                if args.rounds:
                    report(results)
                if args.burst_blocks:
                    run = Run(url, port, token, database_url, args.clients, dispatcher)
                    burst_blocks(run, receiver_port, dead_port, args.burst_blocks, args.block_size)
            finally:
                for process in (*workers.values(), web):
                    stop_process(process)
    finally:
        receiver.terminate()
        redis.stop()
    return 0


def burst_blocks(run: Run, receiver_port: int, dead_port: int, blocks: int, size: int) -> None:
    """Bursts with the webhooks enabled, then disabled, in alternating blocks."""
    run.reset(catalog=False)
    run.subscribe(receiver_port, dead_port)
    ids = run.seed("BENCH-BLOCK")
    samples: dict[bool, list[float]] = {True: [], False: []}
    seconds: list[dict[bool, float]] = []  # per pair of adjacent blocks, one each way
    attempts, cpu = [], []  # by the dispatcher during each block with the webhooks enabled
    with psycopg.connect(run.conninfo, autocommit=True) as conn:
        for k in range(blocks * 2):
            deadline = time.monotonic() + 120
            while unsent(conn) and time.monotonic() < deadline:
                time.sleep(0.2)
            time.sleep(2)  # and the dispatcher has ended (it waits a second for more)
            enabled = (k % 4) in (0, 3)  # on, off, off, on, ...
            conn.execute(
                "UPDATE webhooks_webhook SET enabled = %s, consecutive_failures = 0", [enabled]
            )
            cpu_before, started_at = run.worker_cpu(), datetime.now(UTC).isoformat()
            started = time.perf_counter()
            samples[enabled] += run.concurrent_burst(ids, size, k * size)
            if k % 2 == 0:
                seconds.append({})
            seconds[-1][enabled] = time.perf_counter() - started
            if enabled:
                cpu.append(run.worker_cpu() - cpu_before)
                attempts.append(run.attempts_between(started_at, datetime.now(UTC).isoformat()))
    print(f"\n  Bursts of {size} PATCHes from {run.clients} clients, {blocks} blocks each way:")
    for name, p in (("p50", 50), ("p95", 95)):
        off, on = percentile(samples[False], p), percentile(samples[True], p)
        print(f"  {name}: disabled {off:.2f} ms, enabled {on:.2f} ms, ratio {on / off:.3f}")
    # Adjacent blocks share the machine's state of the moment: their ratio drifts least.
    ratios = [pair[True] / pair[False] for pair in seconds]
    mean = statistics.fmean(ratios)
    spread = 2 * statistics.stdev(ratios) / len(ratios) ** 0.5 if len(ratios) > 1 else 0.0
    print(
        f"  a block's time, enabled / disabled, over adjacent pairs: {mean:.3f} +- {spread:.3f}"
        f" (about 95 %: from {mean - spread:.3f} to {mean + spread:.3f})"
    )
    print(
        f"  the dispatcher during a block, median: {statistics.median(attempts):.0f} attempts, "
        f"{statistics.median(cpu):.2f} s of CPU"
    )


def summary(runs: list[Run]) -> dict[str, float]:
    """The median of each figure of the runs; the percentiles of all their requests together."""
    figures = {
        name: statistics.median(run.figures[name] for run in runs) for name in runs[0].figures
    }
    for kind in runs[0].latencies:
        pooled = [ms for run in runs for ms in run.latencies[kind]]
        figures[f"{kind} p50 ms"] = percentile(pooled, 50)
        figures[f"{kind} p95 ms"] = p95(pooled)
    return figures


def report(results: dict[str, list[Run]]) -> None:
    base, hooks = summary(results[LABELS[0]]), summary(results[LABELS[1]])
    rounds = len(results[LABELS[1]])
    print(f"\n  {rounds} runs each way: medians, and percentiles of all their requests:")
    print(f"\n  {'figure':50} {'none':>9} {'10 hooks':>9} {'ratio':>7}")
    for name, value in hooks.items():
        none = f"{base[name]:>9.1f}" if name in base else " " * 9
        ratio = f"{value / base[name]:>7.2f}" if base.get(name) else ""
        print(f"  {name:50} {none} {value:>9.1f} {ratio}")
    print("\nTarget: import time and API p95 within 5 % (ratio <= 1.05).")


if __name__ == "__main__":
    sys.exit(main())
