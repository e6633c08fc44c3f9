"""Search that stays fast at 500,000 products without slowing the import.

A trigram GIN index makes `ILIKE '%term%'` fast, but maintaining one row by row makes a 500k-row
upsert about 8 times slower. So the index lives on a table of its own, `ProductSearch`:

- single writes (the API's services) update it in their own transaction, so it stays current;
- a bulk import does not touch it: it calls `mark_stale()` inside its transaction and queues
  `rebuild()`, which builds a new table from a snapshot, indexes it with a parallel GIN build and
  swaps it in;
- while it is stale, searches scan the products themselves: correct, only slower.

Queries use the table as a pre-filter only and always re-check the product's own columns, so a
search row that is out of date can narrow a result but never add a wrong one.
"""

import logging
import time
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper
from django.db.models import Q, QuerySet

from .models import Product, ProductSearch, SearchIndexState

logger = logging.getLogger(__name__)

SEARCH_TABLE = ProductSearch._meta.db_table
PRODUCT_TABLE = Product._meta.db_table
STATE_TABLE = SearchIndexState._meta.db_table
NEW_TABLE = f"{SEARCH_TABLE}_new"
INDEX_NAME = "product_search_document_trgm"
PKEY_NAME = f"{SEARCH_TABLE}_pkey"
# The document: what `?search=` looks through. Newlines keep the fields apart.
DOCUMENT_SQL = "p.sku || E'\\n' || p.name || E'\\n' || p.description"
# Trigram indexes only narrow a search for terms of three characters or more.
MIN_INDEXED_TERM = 3
# Two rebuilds never run at once (an arbitrary, fixed advisory-lock key).
REBUILD_LOCK_KEY = 7_311_001


def document(product: Product) -> str:
    return f"{product.sku}\n{product.name}\n{product.description}"


def index_product(product: Product) -> None:
    """Write one product's search row; call inside the transaction that wrote the product."""
    ProductSearch.objects.update_or_create(
        product_id=product.pk, defaults={"document": document(product)}
    )


def unindex_products(product_ids: list[int]) -> None:
    ProductSearch.objects.filter(product_id__in=product_ids).delete()


def is_fresh() -> bool:
    # No state row yet means nothing was ever bulk-written: fresh.
    return not SearchIndexState.objects.filter(pk=1, fresh=False).exists()


def mark_stale() -> None:
    """Call inside a bulk write's transaction: searches scan products until `rebuild()` runs."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {STATE_TABLE} AS s (id, fresh, generation) VALUES (1, false, 1)"
            " ON CONFLICT (id) DO UPDATE SET fresh = false, generation = s.generation + 1"
        )


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


def matching(queryset: QuerySet[Product], term: str, fields: list[str]) -> QuerySet[Product]:
    """Products where any of `fields` contains `term`, ignoring case."""
    condition = Q()
    for field in fields:
        condition |= Q(**{f"{field}__ilike": term})
    if len(term) >= MIN_INDEXED_TERM and is_fresh():
        candidates = ProductSearch.objects.filter(document__ilike=term).values("product_id")
        queryset = queryset.filter(id__in=candidates)
    return queryset.filter(condition)


@dataclass(frozen=True)
class RebuildResult:
    swapped: bool
    rows: int
    seconds: float


def rebuild() -> RebuildResult:
    """Build the search table anew from the catalog and swap it in.

    Writers are blocked only for the final catch-up and swap (a diff of the new table against the
    catalog under a SHARE lock); readers never wait for more than the swap itself. If a bulk import
    committed while the table was being built, the table is already out of date: it is dropped and
    the rebuild that the import queued does the work.
    """
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [REBUILD_LOCK_KEY])
        try:
            generation, rows = _build_new_table(cursor)
            swapped = _swap_in(cursor, generation)
        finally:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [REBUILD_LOCK_KEY])
    result = RebuildResult(swapped=swapped, rows=rows, seconds=time.monotonic() - started)
    logger.info("search index rebuild: %s", result)
    return result


def _build_new_table(cursor: CursorWrapper) -> tuple[int, int]:
    with transaction.atomic():
        # One snapshot for the generation and the copy of the catalog.
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        generation = _generation(cursor)
        cursor.execute(f"DROP TABLE IF EXISTS {NEW_TABLE}")
        cursor.execute(
            f"CREATE TABLE {NEW_TABLE} AS"
            f" SELECT p.id AS product_id, {DOCUMENT_SQL} AS document FROM {PRODUCT_TABLE} p"
        )
        rows = cursor.rowcount
    with transaction.atomic():
        cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
        cursor.execute("SET LOCAL max_parallel_maintenance_workers = 2")
        cursor.execute(f"ALTER TABLE {NEW_TABLE} ALTER COLUMN document SET NOT NULL")
        cursor.execute(f"ALTER TABLE {NEW_TABLE} ADD PRIMARY KEY (product_id)")
        cursor.execute(
            f"CREATE INDEX {INDEX_NAME}_new ON {NEW_TABLE} USING gin (document gin_trgm_ops)"
        )
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
            f"INSERT INTO {NEW_TABLE} (product_id, document)"
            f" SELECT p.id, {DOCUMENT_SQL} FROM {PRODUCT_TABLE} p"
            f" LEFT JOIN {NEW_TABLE} n ON n.product_id = p.id"
            f" WHERE n.document IS DISTINCT FROM {DOCUMENT_SQL}"
            " ON CONFLICT (product_id) DO UPDATE SET document = EXCLUDED.document"
        )
        cursor.execute(f"DROP TABLE {SEARCH_TABLE}")
        cursor.execute(f"ALTER TABLE {NEW_TABLE} RENAME TO {SEARCH_TABLE}")
        cursor.execute(f"ALTER INDEX {INDEX_NAME}_new RENAME TO {INDEX_NAME}")
        cursor.execute(f"ALTER INDEX {NEW_TABLE}_pkey RENAME TO {PKEY_NAME}")
        cursor.execute(f"UPDATE {STATE_TABLE} SET fresh = true, rebuilt_at = now() WHERE id = 1")
    return True
