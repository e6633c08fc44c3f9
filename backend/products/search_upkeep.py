"""The search table's upkeep: the pending products applied in batches, or a rebuild beside it.

Writers mark the products they change in `ProductSearchPending` (triggers, migration 0007) and
queue `sync()` once they commit. `sync()` applies the pending rows in batches of
`SYNC_BATCH_ROWS`, each one short transaction that takes no lock a writer waits for: a pending
row that a writer still holds (an import under way) is skipped, and that writer queues a sync of
its own when it commits. When more than a share of the catalog is pending (a large import), a
rebuild is faster, and an import that writes that much marks the whole catalog instead of each
product (`products.bulk.leave_search_marks_to_a_rebuild`): a new table is copied from one
snapshot of the catalog and indexed while the old one keeps answering, with the pending
products read from the catalog itself (`products.search`); then the marks that the copy covered
are deleted and the new table is swapped in, in one short transaction that readers never wait
for beyond the swap itself.

One upkeep at a time (an advisory lock): a sync that finds another running leaves the work to
it, and the one running looks again after it lets go of the lock.
"""

import contextlib
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper

from .counts import product_total
from .models import Product, ProductSearch, SearchIndexState
from .search import PENDING_TABLE, SEARCHED_FIELDS, WHOLE_CATALOG

logger = logging.getLogger(__name__)

SEARCH_TABLE = ProductSearch._meta.db_table
PRODUCT_TABLE = Product._meta.db_table
STATE_TABLE = SearchIndexState._meta.db_table
NEW_TABLE = f"{SEARCH_TABLE}_new"
# The marks (product, version) that a rebuild's snapshot saw: the ones its new table covers.
COVERED_TABLE = f"{SEARCH_TABLE}_covered"
INDEXES = ["product_search_sku_trgm", "product_search_name_trgm", "product_search_desc_trgm"]
PKEY_NAME = f"{SEARCH_TABLE}_pkey"
# Fine-grained statistics: the planner's row estimates for `LIKE '%term%'` come from them, and
# with the default target they are several times off (see `products.pagination`).
STATISTICS_TARGET = 1000
SET_STATISTICS_SQL = ", ".join(
    f"ALTER COLUMN {field} SET STATISTICS {STATISTICS_TARGET}" for field in SEARCHED_FIELDS
)
# A product's search row, from the products table aliased `p`.
ROW_SQL = "p.id, lower(p.sku), lower(p.name), lower(p.description)"
# One upkeep at a time (an arbitrary, fixed advisory-lock key).
UPKEEP_LOCK_KEY = 7_311_001
# The upkeep waits no longer than this for a table or row lock, then gives way (below
# PostgreSQL's deadlock_timeout of 1 s, so that a deadlock's victim is always the upkeep).
UPKEEP_LOCK_TIMEOUT_MS = 500
# Pending rows applied per transaction: a few tenths of a second (docs/benchmarks.md).
SYNC_BATCH_ROWS = 5_000
# A rebuild instead of batches when more than this share of the catalog is pending, and more
# than one batch: from there on, building the table anew costs less (docs/benchmarks.md).
REBUILD_SHARE = 1 / 3

# One batch: the first pending rows that no writer holds, applied and deleted. A product that
# is gone loses its search row; a changed one gets its new one. The whole catalog's mark is
# left to a rebuild.
SYNC_BATCH_SQL = f"""
WITH batch AS (
    SELECT product_id FROM {PENDING_TABLE} WHERE product_id <> {WHOLE_CATALOG}
    ORDER BY product_id LIMIT %s FOR UPDATE SKIP LOCKED
), done AS (
    DELETE FROM {PENDING_TABLE} pending USING batch WHERE pending.product_id = batch.product_id
    RETURNING pending.product_id
), written AS (
    INSERT INTO {SEARCH_TABLE} AS s (product_id, sku, name, description)
    SELECT {ROW_SQL} FROM {PRODUCT_TABLE} p JOIN done ON done.product_id = p.id
    ON CONFLICT (product_id) DO UPDATE
    SET sku = EXCLUDED.sku, name = EXCLUDED.name, description = EXCLUDED.description
    WHERE (s.sku, s.name, s.description)
        IS DISTINCT FROM (EXCLUDED.sku, EXCLUDED.name, EXCLUDED.description)
    RETURNING 1
), removed AS (
    DELETE FROM {SEARCH_TABLE} s USING done WHERE s.product_id = done.product_id
    AND NOT EXISTS (SELECT FROM {PRODUCT_TABLE} p WHERE p.id = done.product_id)
    RETURNING 1
)
SELECT (SELECT count(*) FROM done), (SELECT count(*) FROM written), (SELECT count(*) FROM removed)
"""
# After this many marks deleted, the pending table is vacuumed and analyzed at once: every
# search scans it, and with the dead rows of a large import's marks and their statistics left
# to autovacuum, it would scan them all and plan for a table of that size.
VACUUM_AFTER_ROWS = 10_000
# Whether a pending row is there that no writer holds: work for a sync.
UNHELD_PENDING_SQL = f"SELECT EXISTS (SELECT FROM {PENDING_TABLE} FOR UPDATE SKIP LOCKED)"
# How many products are pending, and whether the whole catalog is, by a writer that committed.
SYNC_PENDING_SQL = (
    f"SELECT (SELECT count(*) FROM {PENDING_TABLE}), EXISTS (SELECT FROM {PENDING_TABLE}"
    f" WHERE product_id = {WHOLE_CATALOG} FOR UPDATE SKIP LOCKED)"
)


def rebuild_pays(products: int, total: int) -> bool:
    """Whether a rebuild brings the search table up to date with `products` changed products
    sooner than batches do, in a catalog of `total`."""
    return products > max(SYNC_BATCH_ROWS, total * REBUILD_SHARE)


@dataclass(frozen=True)
class RebuildResult:
    swapped: bool  # False: every product was deleted meanwhile, and the new table with them
    rows: int
    covered: int  # pending marks that the new table made up to date
    seconds: float
    swap_seconds: float  # the final transaction; readers wait only for its DROP and RENAME


@dataclass(frozen=True)
class SyncResult:
    pending: int  # when the sync began
    written: int  # search rows written or changed
    removed: int  # search rows of deleted products
    rebuilt: RebuildResult | None
    seconds: float


def sync() -> SyncResult:
    """Bring the search table up to date with every pending product that no writer holds,
    after any upkeep running. Call it outside a transaction (a rebuild VACUUMs)."""
    result = _sync(wait=True)
    assert result is not None  # it waited for the lock
    return result


def sync_unless_busy() -> SyncResult | None:
    """`sync()`, or None at once if another upkeep runs: that one does this work too."""
    return _sync(wait=False)


def _sync(*, wait: bool) -> SyncResult | None:
    result = None
    while True:
        with _upkeep_lock(wait=wait) as held:
            if not held:
                return result
            result = _sync_holding_lock()
        # A write that committed as the lock was let go found it taken and left its rows here.
        if not _exists(UNHELD_PENDING_SQL):
            return result


def rebuild() -> RebuildResult:
    """Build the search table anew from the catalog and swap it in, after any upkeep running."""
    with _upkeep_lock(wait=True), connection.cursor() as cursor:
        return _rebuild(cursor)


@contextlib.contextmanager
def _upkeep_lock(*, wait: bool) -> Iterator[bool]:
    """The upkeep's advisory lock, or False at once if another upkeep holds it (unless `wait`).

    While it is held, every lock the upkeep waits for gives way after UPKEEP_LOCK_TIMEOUT_MS
    (an OperationalError, SQLSTATE 55P03): a delete of every product or a flush of the tables
    never waits for the upkeep's next statement, nor deadlocks with it.
    """
    with connection.cursor() as cursor:
        if wait:
            cursor.execute("SELECT pg_advisory_lock(%s)", [UPKEEP_LOCK_KEY])
        else:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [UPKEEP_LOCK_KEY])
            row = cursor.fetchone()
            if not (row and row[0]):
                yield False
                return
        cursor.execute(f"SET lock_timeout = {UPKEEP_LOCK_TIMEOUT_MS}")
        try:
            yield True
        finally:
            cursor.execute("RESET lock_timeout")
            cursor.execute("SELECT pg_advisory_unlock(%s)", [UPKEEP_LOCK_KEY])


def _exists(query: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(query)
        row = cursor.fetchone()
        return bool(row and row[0])


def _sync_holding_lock() -> SyncResult:
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute(SYNC_PENDING_SQL)
        row = cursor.fetchone()
        pending, whole_catalog = (int(row[0]), bool(row[1])) if row else (0, False)
        rebuilt = None
        if whole_catalog or rebuild_pays(pending, product_total()):
            rebuilt = _rebuild(cursor)
        written = removed = applied = 0
        while True:
            with transaction.atomic():
                # The products first, as a delete of every product locks them: never crosswise.
                cursor.execute(f"LOCK TABLE {PRODUCT_TABLE} IN ACCESS SHARE MODE")
                cursor.execute(SYNC_BATCH_SQL, [SYNC_BATCH_ROWS])
                row = cursor.fetchone()
            done, batch_written, batch_removed = row if row else (0, 0, 0)
            applied += done
            written += batch_written
            removed += batch_removed
            if done < SYNC_BATCH_ROWS:
                break
        if applied >= VACUUM_AFTER_ROWS:
            cursor.execute(f"VACUUM (ANALYZE) {PENDING_TABLE}")
    result = SyncResult(
        pending=pending,
        written=written,
        removed=removed,
        rebuilt=rebuilt,
        seconds=time.monotonic() - started,
    )
    if pending:
        logger.info("search sync: %s", result)
    return result


def _rebuild(cursor: CursorWrapper) -> RebuildResult:
    started = time.monotonic()
    generation, rows, covered = _copy_catalog(cursor)
    _build_indexes(cursor)
    swap_started = time.monotonic()
    swapped = _swap_in(cursor, generation)
    finished = time.monotonic()
    cursor.execute(f"VACUUM (ANALYZE) {PENDING_TABLE}")
    result = RebuildResult(
        swapped=swapped,
        rows=rows,
        covered=covered if swapped else 0,
        seconds=finished - started,
        swap_seconds=finished - swap_started,
    )
    logger.info("search table rebuild: %s", result)
    return result


def _generation(cursor: CursorWrapper, *, lock: bool = False) -> int:
    if lock:
        cursor.execute(
            f"INSERT INTO {STATE_TABLE} (id, generation) VALUES (1, 0) ON CONFLICT (id) DO NOTHING"
        )
    cursor.execute(
        f"SELECT generation FROM {STATE_TABLE} WHERE id = 1" + (" FOR UPDATE" if lock else "")
    )
    row = cursor.fetchone()
    return int(row[0]) if row else 0


def _copy_catalog(cursor: CursorWrapper) -> tuple[int, int, int]:
    """The catalog and its pending marks, from one snapshot, into new tables."""
    with transaction.atomic():
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        generation = _generation(cursor)
        cursor.execute(f"DROP TABLE IF EXISTS {NEW_TABLE}, {COVERED_TABLE}")
        cursor.execute(
            f"CREATE TABLE {COVERED_TABLE} AS SELECT product_id, version FROM {PENDING_TABLE}"
        )
        covered = cursor.rowcount
        # Statistics for the swap's join of the two: the pending table's may be those of the
        # empty table that the last rebuild left, and a join planned on them as tiny ran for
        # more than ten minutes over 466,693 marks (a nested loop of sequential scans).
        cursor.execute(f"ANALYZE {COVERED_TABLE}, {PENDING_TABLE}")
        cursor.execute(f"CREATE TABLE {NEW_TABLE} (LIKE {SEARCH_TABLE} INCLUDING DEFAULTS)")
        cursor.execute(
            f"INSERT INTO {NEW_TABLE} (product_id, sku, name, description)"
            f" SELECT {ROW_SQL} FROM {PRODUCT_TABLE} p"
        )
        rows = cursor.rowcount
    return generation, rows, covered


def _build_indexes(cursor: CursorWrapper) -> None:
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


def _swap_in(cursor: CursorWrapper, generation: int) -> bool:
    """The covered marks deleted and the new table swapped in, in one transaction.

    First the search table in EXCLUSIVE mode, which readers pass: a delete of every product
    takes it before the pending table, and so does this. A mark that changed since the copy
    (a new version), or that a writer holds, stays for the next sync.
    """
    with transaction.atomic():
        cursor.execute(f"LOCK TABLE {SEARCH_TABLE} IN EXCLUSIVE MODE")
        if _generation(cursor, lock=True) != generation:
            cursor.execute(f"DROP TABLE {NEW_TABLE}, {COVERED_TABLE}")
            return False
        cursor.execute(
            f"DELETE FROM {PENDING_TABLE} pending USING ("
            f" SELECT p.product_id FROM {PENDING_TABLE} p JOIN {COVERED_TABLE} c"
            " ON c.product_id = p.product_id AND c.version = p.version"
            " FOR UPDATE OF p SKIP LOCKED"
            ") covered WHERE pending.product_id = covered.product_id"
        )
        cursor.execute(f"DROP TABLE {SEARCH_TABLE}, {COVERED_TABLE}")
        cursor.execute(f"ALTER TABLE {NEW_TABLE} RENAME TO {SEARCH_TABLE}")
        for index in INDEXES:
            cursor.execute(f"ALTER INDEX {index}_new RENAME TO {index}")
        cursor.execute(f"ALTER INDEX {NEW_TABLE}_pkey RENAME TO {PKEY_NAME}")
        cursor.execute(f"UPDATE {STATE_TABLE} SET rebuilt_at = now() WHERE id = 1")
    return True
