"""`make bench-pages`: the first, middle and last page of each sort order, in-process (ADR 18).

Loads the catalog of `make bench-api` (500,000 rows of the real file's shape: 466,693 products)
with COPY into a database of its own on an embedded PostgreSQL, then calls the list view in this
process (DRF's request factory, response rendered): for each of the 10 sort orders the first page,
the middle one, the last one by number and `?page=last`, median of 7 after one warm-up. Beside
it, the rows-only OFFSET query that pages used before (the same order, `SELECT *`), and the plan
of the middle page's id query (its scan and heap fetches). Then a filtered list whose count is an
estimate (`?active=true`): its `?page=last` and a numbered page in its middle.

With `--import-rows N` (0 to skip), the import's cost of the name index's INCLUDE: N rows imported
by the engine into an empty catalog and again as updates, with the index of migration 0007 and
with the one before it, alternately, `--import-runs` times each (2).
"""

import argparse
import os
import re
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import psycopg

from benchmarks.api import REPO_DIR, catalog, cpu_model, django_env, load_catalog, manage
from devstack.postgres import EmbeddedPostgres
from devstack.processes import free_port

BENCH_DB = "bench_pages"
ORDER_KEYS = ("id", "name", "sku", "created_at", "updated_at")
PAGE_SIZE = 25
RUNS = 7
NEW_INDEX = (
    "CREATE INDEX product_name_order_idx ON products_product (lower(name), id) INCLUDE (name)"
)
OLD_INDEX = "CREATE INDEX product_name_id_idx ON products_product (lower(name), id)"


def median_ms(call: Callable[[], object]) -> float:
    call()
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def rows_at(queryset: Any, number: int) -> list[Any]:
    """Page `number` as pages were read before ADR 18: `SELECT *` with OFFSET."""
    return list(queryset[(number - 1) * PAGE_SIZE : number * PAGE_SIZE])


def scan_of(plan: dict[str, Any]) -> str:
    """The plan's first scan node, with its index and heap fetches."""
    if "Scan" in plan["Node Type"]:
        index = f" on {plan['Index Name']}" if "Index Name" in plan else ""
        fetches = f", {plan['Heap Fetches']:,} heap fetches" if "Heap Fetches" in plan else ""
        return f"{plan['Node Type']}{index}{fetches}"
    for child in plan.get("Plans", []):
        if found := scan_of(child):
            return found
    return ""


def measure_pages(count: int) -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.db.models import F
    from django.test.utils import CaptureQueriesContext
    from rest_framework.test import APIRequestFactory, force_authenticate

    from products.filters import ORDERINGS
    from products.models import Product
    from products.views import ProductViewSet

    user = get_user_model().objects.create_superuser(
        "bench-pages", password=secrets.token_urlsafe(16)
    )
    view = ProductViewSet.as_view({"get": "list"})
    factory = APIRequestFactory(SERVER_NAME="127.0.0.1")

    def call(params: dict[str, str]) -> dict[str, Any]:
        request = factory.get("/api/products/", params)
        force_authenticate(request, user=user)
        response = view(request)
        response.render()
        assert response.status_code == 200, (params, response.content[:200])
        return response.data  # type: ignore[no-any-return]

    last = -(-count // PAGE_SIZE)
    middle = last // 2
    print(f"\nPages of {PAGE_SIZE} (middle {middle:,}, last {last:,}), median of {RUNS}, ms:\n")
    print("| ordering | first | middle | last | `page=last` | OFFSET before: middle / last |")
    print("|---|---:|---:|---:|---:|---:|")
    plans = []
    for key in ORDER_KEYS:
        for ordering in (key, f"-{key}"):
            expression: Any = ORDERINGS[key]
            desc = ordering.startswith("-")
            before = Product.objects.order_by(
                expression.desc() if desc else expression.asc(),
                F("id").desc() if desc else F("id").asc(),
            )
            cells = [
                median_ms(partial(call, {"ordering": ordering, "page": str(page)}))
                for page in (1, middle, last, "last")
            ]
            offsets = [median_ms(partial(rows_at, before, n)) for n in (middle, last)]
            print(
                f"| {ordering} | "
                + " | ".join(f"{ms:.1f}" for ms in cells)
                + f" | {offsets[0]:.1f} / {offsets[1]:.1f} |"
            )
            with CaptureQueriesContext(connection) as queries:
                call({"ordering": ordering, "page": str(middle)})
            sql = next(q["sql"] for q in queries.captured_queries if "OFFSET" in q["sql"])
            with connection.cursor() as cursor:
                cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}")
                (plan,) = cursor.fetchone()
            plans.append(f"{ordering}: {scan_of(plan[0]['Plan'])}")
    print("\nThe middle page's id query:\n")
    for line in plans:
        print(f"- {line}")

    print("\nA filtered list with an estimated count (`?active=true`), median ms:\n")
    for label, params in (
        ("`page=last`, by name", {"active": "true", "ordering": "name", "page": "last"}),
        (
            "`page=last-1`, by -updated_at",
            {"active": "true", "ordering": "-updated_at", "page": "last-1"},
        ),
        ("page 1, by name", {"active": "true", "ordering": "name"}),
        (
            "its middle page by number, by name",
            {"active": "true", "ordering": "name", "page": str(middle)},
        ),
    ):
        body = call(params)
        ms = median_ms(partial(call, params))
        print(f"- {label}: {ms:.1f} (count {body['count']:,}, exact: {body['count_exact']})")


def write_file(path: Path, rows: int, tag: str) -> None:
    with path.open("w") as out:
        out.write("sku,name,description\n")
        for n in range(rows):
            out.write(f"bench-{n:07},{tag} product {n * 7919 % rows:07},A {tag} thing\n")


def measure_import_cost(conninfo: str, rows: int, runs: int) -> None:
    from jobs.engine import import_products

    print(f"\nImports of {rows:,} rows by the engine (s), name index with / without INCLUDE:\n")
    results: dict[str, list[tuple[float, float]]] = {"INCLUDE (name)": [], "without": []}
    with tempfile.TemporaryDirectory() as tmp:
        first, second = Path(tmp) / "a.csv", Path(tmp) / "b.csv"
        write_file(first, rows, "alpha")
        write_file(second, rows, "beta")
        for label in ["INCLUDE (name)", "without"] * runs:
            with psycopg.connect(conninfo, autocommit=True) as conn:
                conn.execute("TRUNCATE products_product, products_productsearch")
                conn.execute("DROP INDEX IF EXISTS product_name_order_idx, product_name_id_idx")
                conn.execute(NEW_INDEX if label.startswith("INCLUDE") else OLD_INDEX)
                conn.execute("VACUUM ANALYZE products_product")
                times = []
                for path in (first, second):
                    with path.open("rb") as source:
                        started = time.perf_counter()
                        import_products(conn, source)
                        times.append(time.perf_counter() - started)
            results[label].append((times[0], times[1]))
    for label, pairs in results.items():
        cells = ", ".join(f"{created:.2f} / {updated:.2f}" for created, updated in pairs)
        created = statistics.median(pair[0] for pair in pairs)
        updated = statistics.median(pair[1] for pair in pairs)
        print(
            f"- {label}: new products / all updated: {cells}; medians {created:.2f} / {updated:.2f}"
        )
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("DROP INDEX IF EXISTS product_name_order_idx, product_name_id_idx")
        conn.execute(NEW_INDEX)


def postgres() -> Iterator[str]:
    if os.environ.get("DATABASE_URL"):
        yield os.environ["DATABASE_URL"]
        return
    server = EmbeddedPostgres(REPO_DIR / ".data" / "bench-pages-postgres", free_port())
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=500_000, help="0: no pages")
    parser.add_argument("--import-rows", type=int, default=100_000, help="0: no import cost")
    parser.add_argument("--import-runs", type=int, default=2)
    args = parser.parse_args()
    for server_url in postgres():
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {BENCH_DB}")
        database_url = re.sub(r"/[^/]*$", f"/{BENCH_DB}", server_url)
        os.environ.update(django_env(database_url))
        os.environ["DJANGO_SETTINGS_MODULE"] = "product_importer.settings"
        manage(dict(os.environ), "migrate", "--noinput")
        conninfo = psycopg.conninfo.make_conninfo(
            database_url.replace("postgres://", "postgresql://")
        )
        import django

        django.setup()
        print(f"Machine: {os.cpu_count()} CPUs, {cpu_model()}")
        if args.import_rows:
            measure_import_cost(conninfo, args.import_rows, args.import_runs)
        if not args.rows:
            continue
        started = time.monotonic()
        products = catalog(args.rows)
        load_catalog(conninfo, products)
        print(f"\nLoaded {len(products):,} products in {time.monotonic() - started:.1f} s")
        measure_pages(len(products))
    return 0


if __name__ == "__main__":
    sys.exit(main())
