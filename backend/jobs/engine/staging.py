"""Staging and upserting: the valid rows COPYed into a temporary table, sorted, then upserted.

The database sorts the staged rows by SKU in runs, then merges the runs as it upserts them into
the catalog in chunks of about a quarter of a second, in SKU order: the last row of a SKU wins
(SKUs compared by the catalog's own key function, `products.sku`), and created, updated and
duplicate rows are counted in SQL. An import of more rows than the search upkeep would rebuild
for marks the whole catalog for it instead of each product it writes. The SQL that writes the
products tables is the products app's (`products.bulk`); the staging tables here are temporary,
dropped at the commit.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, BinaryIO, Final
from uuid import UUID

import psycopg

from products.bulk import (
    PRODUCT_TABLE,
    chunk_sql,
    leave_search_marks_to_a_rebuild,
    mark_whole_catalog,
    sku_key_sql,
    upsert_chunk_sql,
)

from ..models import Job, JobChange
from .contract import PARSED_PERCENT, SORTED_PERCENT, ImportOptions, Reporter
from .reading import Parsed, read_rows

CHANGE_TABLE: Final = JobChange._meta.db_table
# What the foreign key's check took for each change row, taken once: the job cannot be deleted
# (and its changes with it, by its trigger) until this transaction ends (migration 0005).
LOCK_JOB_SQL: Final = f"SELECT 1 FROM {Job._meta.db_table} WHERE id = %s FOR KEY SHARE"
# Staged rows are sorted in runs of about this many rows (a fraction of a second each, see
# docs/benchmarks.md), and in at most this many runs (the merge reads all of them at once).
RUN_ROWS: Final = 100_000
MAX_RUNS: Final = 64
# Each upsert statement aims at this many seconds, so progress moves about twice a second.
CHUNK_SECONDS: Final = 0.25
FIRST_CHUNK_ROWS: Final = 10_000
MIN_CHUNK_ROWS: Final = 1_000

STAGING_SQL = f"""
CREATE TEMPORARY TABLE import_staging (
    position integer NOT NULL,
    sku text NOT NULL,
    name text NOT NULL,
    description text,
    active boolean,
    sku_key text COLLATE "C" GENERATED ALWAYS AS ({sku_key_sql("sku")}) STORED
) ON COMMIT DROP
"""
COPY_SQL = (
    "COPY import_staging (position, sku, name, description, active) FROM STDIN (FORMAT BINARY)"
)
COPY_TYPES = ["int4", "text", "text", "text", "bool"]
# `sku_key` is the SKU key computed by the very function that generates the catalog's unique key,
# so two rows fall together here exactly when they would collide there. It is sorted
# in the "C" collation (byte order): the same groups, much faster than a linguistic collation, and
# for the usual C.UTF-8 databases the very order of the catalog's index, which makes the upsert
# faster than in file order (docs/benchmarks.md, "The import").
#
# Sorting all the rows in one statement would leave progress still for seconds on a large file
# (docs/benchmarks.md), so they are sorted in runs (children of `import_runs`,
# each sorted by SKU then position, newest first, with an index in that order) and the database
# merges the runs as it reads them (a Merge Append of index scans).
RUNS_SQL = """
CREATE TEMPORARY TABLE import_runs (
    position integer,
    sku text,
    name text,
    description text,
    active boolean,
    sku_key text COLLATE "C"
) ON COMMIT DROP
"""
PAGES_SQL = (
    "SELECT pg_relation_size('pg_temp.import_staging') / current_setting('block_size')::bigint"
)


@dataclass(frozen=True)
class Counts:
    created: int = 0
    updated: int = 0
    duplicates: int = 0
    unchanged: int = 0
    skipped: int = 0


def copy_into_staging(
    cursor: psycopg.Cursor[Any],
    source: BinaryIO,
    size_bytes: int | None,
    reporter: Reporter,
    options: ImportOptions,
) -> Parsed:
    """Create the staging table and COPY the file's valid rows into it as they are read."""
    cursor.execute(STAGING_SQL)
    with cursor.copy(COPY_SQL) as copy:
        copy.set_types(COPY_TYPES)
        write_row: Callable[[tuple[Any, ...]], None] = copy.write_row
        return read_rows(source, size_bytes, reporter, write_row, options.mapping)


def upsert_staged_rows(
    cursor: psycopg.Cursor[Any],
    parsed: Parsed,
    reporter: Reporter,
    options: ImportOptions,
    changes_of: UUID | None = None,
    before_images_of: UUID | None = None,
) -> Counts:
    """Sort the staged rows in runs, then upsert them into the catalog chunk by chunk; or, with
    `changes_of` (a dry run), compare them with the catalog and record what would change as that
    job's changes (`compare_chunk_sql`), writing no product. With `before_images_of`, the upsert
    records each product it updates as that job's changes, with the product as it was (its
    undo; the products it creates carry the transaction's timestamp)."""
    total = parsed.total_rows
    valid = parsed.valid_rows
    invalid = parsed.invalid_count
    reporter.report("importing", invalid, total, PARSED_PERCENT, force=True)
    if valid == 0:
        return Counts()
    _sort_in_runs(
        cursor, valid, lambda percent: reporter.report("importing", invalid, total, percent)
    )

    unmarked = False
    recording = changes_of or before_images_of
    if recording is not None:
        cursor.execute(LOCK_JOB_SQL, (recording,))
        if cursor.fetchone() is None:
            raise ValueError(f"there is no job {recording} to record the changes of")
    if changes_of is None:
        unmarked = leave_search_marks_to_a_rebuild(cursor, valid)
        statement = upsert_chunk_sql(
            source="import_runs",
            has_description=parsed.has_description,
            has_active=parsed.has_active,
            update_existing=options.update_existing,
            changes_table=CHANGE_TABLE if before_images_of else None,
        )
    else:
        statement = compare_chunk_sql(source="import_runs")
    created = updated = unchanged = skipped = keys_done = consumed = 0
    after = ""  # the last SKU key dealt with so far; every key sorts after ""
    rows = FIRST_CHUNK_ROWS
    while consumed < valid:
        started = time.monotonic()
        params: tuple[Any, ...] = (after, rows)
        if changes_of is not None:
            params = (*params, options.update_existing, changes_of, created + updated)
        elif before_images_of is not None:
            params = (*params, before_images_of, updated)
        # Never a generic plan: the merge only pays with the actual key and limit in view.
        cursor.execute(statement, params, prepare=False)
        chunk = cursor.fetchone()
        assert chunk is not None
        chunk_created, chunk_updated, chunk_consumed, last, chunk_keys, *rest = chunk
        if not chunk_keys:
            break
        created += chunk_created
        updated += chunk_updated
        if changes_of is not None:
            unchanged += rest[0]
            skipped += rest[1]
        elif options.update_existing:
            unchanged += chunk_keys - chunk_created - chunk_updated
        else:
            skipped += chunk_keys - chunk_created
        keys_done += chunk_keys
        consumed += chunk_consumed
        after = last
        percent = SORTED_PERCENT + (100 - SORTED_PERCENT) * consumed // valid
        reporter.report("importing", invalid + consumed, total, percent)
        rows = _next_chunk_rows(rows, time.monotonic() - started)
    if unmarked and created + updated:
        mark_whole_catalog(cursor)
    return Counts(
        created=created,
        updated=updated,
        duplicates=valid - keys_done,
        unchanged=unchanged,
        skipped=skipped,
    )


def _sort_in_runs(cursor: psycopg.Cursor[Any], valid: int, report: Callable[[int], None]) -> None:
    cursor.execute(RUNS_SQL)
    pages = _fetch_int(cursor, PAGES_SQL)
    runs = min(MAX_RUNS, -(-valid // RUN_ROWS))
    pages_per_run = -(-pages // runs)
    for number, first_page in enumerate(range(0, pages, pages_per_run)):
        run = f"import_run_{number}"
        cursor.execute(f"CREATE TEMPORARY TABLE {run} () INHERITS (import_runs) ON COMMIT DROP")
        cursor.execute(
            f"INSERT INTO {run} SELECT position, sku, name, description, active, sku_key"
            " FROM import_staging WHERE ctid >= %s::tid AND ctid < %s::tid"
            " ORDER BY sku_key, position DESC",
            (f"({first_page},0)", f"({first_page + pages_per_run},0)"),
        )
        cursor.execute(f"CREATE INDEX ON {run} (sku_key, position DESC)")
        report(PARSED_PERCENT + (SORTED_PERCENT - PARSED_PERCENT) * (number + 1) // runs)


def compare_chunk_sql(*, source: str) -> str:
    """Compare the next chunk (`chunk_sql`) with the catalog and record, as the job's changes
    (JobChange rows numbered on from the count given), each product that the import would
    create or update: the row as it would be written, and the product as it is.

    Parameters: the key after which to start, the LIMIT, `update_existing`, the job's id, the
    changes recorded so far. It answers the counts `upsert_chunk_sql` does (created, updated,
    staged rows dealt with, the last key, keys), then unchanged and skipped. A row that gives no
    description or active flag keeps the product's, as the import does.

    Each row looks its product up in the unique index, as the upsert's ON CONFLICT does: a join
    would be planned as a hash of the chunk against a scan of the whole catalog, twice the time
    for a chunk of 10,000 (docs/benchmarks.md). The LATERAL ... LIMIT 1 keeps it a lookup, and
    the staged key takes the catalog's collation, the index's (equal keys are equal bytes in
    either).
    """
    return (
        f"WITH {chunk_sql(source)}, compared AS MATERIALIZED ("
        " SELECT c.sku_key, c.copies, c.sku, c.name, p.id AS product_id,"
        " coalesce(c.description, p.description, '') AS description,"
        " coalesce(c.active, p.active, true) AS active,"
        " p.sku AS previous_sku, p.name AS previous_name,"
        " p.description AS previous_description, p.active AS previous_active"
        " FROM chunk c LEFT JOIN LATERAL (SELECT id, sku, name, description, active"
        f' FROM {PRODUCT_TABLE} WHERE sku_key = c.sku_key COLLATE "default" LIMIT 1) p ON true'
        "), classified AS MATERIALIZED ("
        " SELECT *, CASE WHEN product_id IS NULL THEN 'create' WHEN NOT %s THEN 'skip'"
        " WHEN (sku, name, description, active)"
        " = (previous_sku, previous_name, previous_description, previous_active)"
        " THEN 'unchanged' ELSE 'update' END AS action FROM compared"
        f"), recorded AS (INSERT INTO {CHANGE_TABLE} (job_id, seq, action, product_id, sku, name,"
        " description, active, previous_sku, previous_name, previous_description, previous_active)"
        " SELECT %s, %s + row_number() OVER (ORDER BY sku_key), action, product_id, sku, name,"
        " description, active, previous_sku, previous_name, previous_description, previous_active"
        " FROM classified WHERE action IN ('create', 'update'))"
        " SELECT count(*) FILTER (WHERE action = 'create'),"
        " count(*) FILTER (WHERE action = 'update'),"
        " coalesce(sum(copies), 0)::bigint, max(sku_key), count(*),"
        " count(*) FILTER (WHERE action = 'unchanged'), count(*) FILTER (WHERE action = 'skip')"
        " FROM classified"
    )


def _next_chunk_rows(rows: int, seconds: float) -> int:
    """SKUs for the next chunk, so that it takes about CHUNK_SECONDS: at most 4 times more than
    this one, at least MIN_CHUNK_ROWS."""
    wanted = rows * CHUNK_SECONDS / seconds if seconds > 0 else rows * 4
    return max(MIN_CHUNK_ROWS, min(round(wanted), rows * 4))


def _fetch_int(cursor: psycopg.Cursor[Any], query: str) -> int:
    cursor.execute(query)
    row = cursor.fetchone()
    assert row is not None
    return int(row[0])
