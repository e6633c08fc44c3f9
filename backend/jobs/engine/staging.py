"""Staging and upserting: the valid rows COPYed into a temporary table, sorted, then upserted.

The database sorts the staged rows by SKU in runs, then merges the runs as it upserts them into
the catalog in chunks of about a quarter of a second, in SKU order: the last row of a SKU wins
(SKUs compared by the catalog's own key function, `products.sku`), and created, updated and
duplicate rows are counted in SQL. The SQL that writes the products tables is the products app's
(`products.bulk`); the staging tables here are temporary, dropped at the commit.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, BinaryIO, Final

import psycopg

from products.bulk import sku_key_sql, upsert_chunk_sql

from .contract import PARSED_PERCENT, SORTED_PERCENT, Reporter
from .reading import Parsed, read_rows

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
    created: int
    updated: int
    duplicates: int


def copy_into_staging(
    cursor: psycopg.Cursor[Any],
    source: BinaryIO,
    size_bytes: int | None,
    reporter: Reporter,
    max_errors: int,
) -> Parsed:
    """Create the staging table and COPY the file's valid rows into it as they are read."""
    cursor.execute(STAGING_SQL)
    with cursor.copy(COPY_SQL) as copy:
        copy.set_types(COPY_TYPES)
        write_row: Callable[[tuple[Any, ...]], None] = copy.write_row
        return read_rows(source, size_bytes, reporter, max_errors, write_row)


def upsert_staged_rows(cursor: psycopg.Cursor[Any], parsed: Parsed, reporter: Reporter) -> Counts:
    """Sort the staged rows in runs, then upsert them into the catalog chunk by chunk."""
    total = parsed.total_rows
    valid = parsed.valid_rows
    invalid = parsed.invalid_count
    reporter.report("importing", invalid, total, PARSED_PERCENT, force=True)
    if valid == 0:
        return Counts(created=0, updated=0, duplicates=0)

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
        percent = PARSED_PERCENT + (SORTED_PERCENT - PARSED_PERCENT) * (number + 1) // runs
        reporter.report("importing", invalid, total, percent)

    statement = upsert_chunk_sql(
        source="import_runs", has_description=parsed.has_description, has_active=parsed.has_active
    )
    created = written = consumed = 0
    after = ""  # the last SKU key upserted so far; every key sorts after ""
    rows = FIRST_CHUNK_ROWS
    while consumed < valid:
        started = time.monotonic()
        # Never a generic plan: the merge only pays with the actual key and limit in view.
        cursor.execute(statement, (after, rows), prepare=False)
        chunk = cursor.fetchone()
        assert chunk is not None
        chunk_created, chunk_written, chunk_consumed, last = chunk
        if not chunk_written:
            break
        created += chunk_created
        written += chunk_written
        consumed += chunk_consumed
        after = last
        percent = SORTED_PERCENT + (100 - SORTED_PERCENT) * consumed // valid
        reporter.report("importing", invalid + consumed, total, percent)
        rows = _next_chunk_rows(rows, time.monotonic() - started)
    return Counts(created=created, updated=written - created, duplicates=valid - written)


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
