"""Search that stays fast at 500,000 products without slowing the import.

Trigram GIN indexes make "contains" filters fast, but maintaining them row by row makes a large
upsert several times slower (docs/benchmarks.md). So they live on a table of their own,
`ProductSearch`, a lower-cased copy of each product's SKU, name and description:

- single writes (the API's services) update it in their own transaction, so it stays exact;
- a bulk import does not touch it: it calls `mark_stale()` inside its transaction and queues
  `rebuild()`, which copies the catalog from a snapshot, indexes the copy with parallel GIN builds,
  catches up with the single writes made meanwhile and swaps it in;
- while it is stale, filters scan the products themselves with ILIKE: correct, only slower.
"""

import logging
import time
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper
from django.db.models import Q, QuerySet

from .bulk import MARK_SEARCH_STALE_SQL
from .models import Product, ProductSearch, SearchIndexState

logger = logging.getLogger(__name__)

SEARCH_TABLE = ProductSearch._meta.db_table
PRODUCT_TABLE = Product._meta.db_table
STATE_TABLE = SearchIndexState._meta.db_table
NEW_TABLE = f"{SEARCH_TABLE}_new"
SEARCHED_FIELDS = ("sku", "name", "description")
INDEXES = ["product_search_sku_trgm", "product_search_name_trgm", "product_search_desc_trgm"]
PKEY_NAME = f"{SEARCH_TABLE}_pkey"
# Fine-grained statistics: the planner's row estimates for `LIKE '%term%'` come from them, and
# with the default target they are several times off (see `products.pagination`).
STATISTICS_TARGET = 1000
SET_STATISTICS_SQL = ", ".join(
    f"ALTER COLUMN {field} SET STATISTICS {STATISTICS_TARGET}" for field in SEARCHED_FIELDS
)
# A product's search row, from the products table aliased `p`, and how it replaces an old one.
ROW_SQL = "p.id, lower(p.sku), lower(p.name), lower(p.description)"
ON_CONFLICT_SQL = (
    " ON CONFLICT (product_id) DO UPDATE SET sku = EXCLUDED.sku, name = EXCLUDED.name,"
    " description = EXCLUDED.description"
)
# Two rebuilds never run at once (an arbitrary, fixed advisory-lock key).
REBUILD_LOCK_KEY = 7_311_001


def index_product(product: Product) -> None:
    """Write one product's search row; call inside the transaction that wrote the product."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {SEARCH_TABLE} (product_id, sku, name, description)"
            f" SELECT {ROW_SQL} FROM {PRODUCT_TABLE} p WHERE p.id = %s{ON_CONFLICT_SQL}",
            [product.pk],
        )


def unindex_products(product_ids: list[int]) -> None:
    ProductSearch.objects.filter(product_id__in=product_ids).delete()


def is_fresh() -> bool:
    # No state row yet means nothing was ever bulk-written: fresh.
    return not SearchIndexState.objects.filter(pk=1, fresh=False).exists()


def mark_stale() -> None:
    """Call inside a bulk write's transaction: searches scan products until `rebuild()` runs."""
    with connection.cursor() as cursor:
        cursor.execute(MARK_SEARCH_STALE_SQL)


def _generation(cursor: CursorWrapper, *, lock: bool = False) -> int:
    if lock:
        cursor.execute(
            f"INSERT INTO {STATE_TABLE} (id, fresh, generation) VALUES (1, true, 0)"
            " ON CONFLICT (id) DO NOTHING"
        )
    cursor.execute(
        f"SELECT generation FROM {STATE_TABLE} WHERE id = 1" + (" FOR UPDATE" if lock else "")
    )
    row = cursor.fetchone()
    return int(row[0]) if row else 0


def matching(
    queryset: QuerySet[Product],
    term: str,
    fields: tuple[str, ...] = SEARCHED_FIELDS,
    *,
    fresh: bool,
) -> QuerySet[Product]:
    """Products where any of `fields` contains `term`, ignoring case.

    `fresh` is `is_fresh()`, asked once per request by the caller however many filters it has.
    """
    lookup = "lower_contains" if fresh else "ilike"
    condition = Q()
    for field in fields:
        condition |= Q(**{f"{field}__{lookup}": term})
    if fresh:
        return queryset.filter(id__in=ProductSearch.objects.filter(condition).values("product_id"))
    return queryset.filter(condition)


@dataclass(frozen=True)
class RebuildResult:
    swapped: bool
    rows: int
    seconds: float
    writers_blocked_seconds: float  # the catch-up and swap, under a SHARE lock on products


def rebuild() -> RebuildResult:
    """Build the search table anew from the catalog and swap it in, after any rebuild running.

    Writers are blocked only for the final catch-up and swap (a diff of the new table against the
    catalog under a SHARE lock); readers never wait for more than the swap itself. If a bulk import
    committed while the table was being built, the table is already out of date: it is dropped and
    the rebuild that the import queued does the work. Call it outside a transaction (it VACUUMs).
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [REBUILD_LOCK_KEY])
        return _rebuild_holding_lock(cursor)


def rebuild_unless_busy() -> RebuildResult | None:
    """`rebuild()`, or None at once if another rebuild runs."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [REBUILD_LOCK_KEY])
        row = cursor.fetchone()
        if not (row and row[0]):
            return None
        return _rebuild_holding_lock(cursor)


def _rebuild_holding_lock(cursor: CursorWrapper) -> RebuildResult:
    started = time.monotonic()
    try:
        generation, rows = _build_new_table(cursor)
        swap_started = time.monotonic()
        swapped = _swap_in(cursor, generation)
    finally:
        cursor.execute("SELECT pg_advisory_unlock(%s)", [REBUILD_LOCK_KEY])
    finished = time.monotonic()
    result = RebuildResult(
        swapped=swapped,
        rows=rows,
        seconds=finished - started,
        writers_blocked_seconds=finished - swap_started,
    )
    logger.info("search index rebuild: %s", result)
    return result


def _build_new_table(cursor: CursorWrapper) -> tuple[int, int]:
    with transaction.atomic():
        # One snapshot for the generation and the copy of the catalog.
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        generation = _generation(cursor)
        cursor.execute(f"DROP TABLE IF EXISTS {NEW_TABLE}")
        cursor.execute(f"CREATE TABLE {NEW_TABLE} (LIKE {SEARCH_TABLE} INCLUDING DEFAULTS)")
        cursor.execute(
            f"INSERT INTO {NEW_TABLE} (product_id, sku, name, description)"
            f" SELECT {ROW_SQL} FROM {PRODUCT_TABLE} p"
        )
        rows = cursor.rowcount
    with transaction.atomic():
        cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
        cursor.execute("SET LOCAL max_parallel_maintenance_workers = 2")
        cursor.execute(f"ALTER TABLE {NEW_TABLE} ADD PRIMARY KEY (product_id)")
        for field, index in zip(SEARCHED_FIELDS, INDEXES, strict=True):
            cursor.execute(
                f"CREATE INDEX {index}_new ON {NEW_TABLE} USING gin ({field} gin_trgm_ops)"
            )
        cursor.execute(f"ALTER TABLE {NEW_TABLE} {SET_STATISTICS_SQL}")
    # Statistics for the planner, and the visibility map for index-only scans, now rather than
    # from autovacuum in the middle of the first searches.
    cursor.execute(f"VACUUM (ANALYZE) {NEW_TABLE}")
    return generation, rows


def _swap_in(cursor: CursorWrapper, generation: int) -> bool:
    with transaction.atomic():
        cursor.execute(f"LOCK TABLE {PRODUCT_TABLE} IN SHARE MODE")
        if _generation(cursor, lock=True) != generation:
            cursor.execute(f"DROP TABLE {NEW_TABLE}")
            return False
        # Catch up with the single writes that committed while the table was being built.
        cursor.execute(
            f"DELETE FROM {NEW_TABLE} n WHERE NOT EXISTS"
            f" (SELECT 1 FROM {PRODUCT_TABLE} p WHERE p.id = n.product_id)"
        )
        cursor.execute(
            f"INSERT INTO {NEW_TABLE} (product_id, sku, name, description)"
            f" SELECT {ROW_SQL} FROM {PRODUCT_TABLE} p"
            f" LEFT JOIN {NEW_TABLE} n ON n.product_id = p.id"
            " WHERE (n.sku, n.name, n.description)"
            " IS DISTINCT FROM (lower(p.sku), lower(p.name), lower(p.description))"
            f"{ON_CONFLICT_SQL}"
        )
        cursor.execute(f"DROP TABLE {SEARCH_TABLE}")
        cursor.execute(f"ALTER TABLE {NEW_TABLE} RENAME TO {SEARCH_TABLE}")
        for index in INDEXES:
            cursor.execute(f"ALTER INDEX {index}_new RENAME TO {index}")
        cursor.execute(f"ALTER INDEX {NEW_TABLE}_pkey RENAME TO {PKEY_NAME}")
        cursor.execute(f"UPDATE {STATE_TABLE} SET fresh = true, rebuilt_at = now() WHERE id = 1")
    return True
