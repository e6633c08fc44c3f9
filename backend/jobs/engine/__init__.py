"""The import engine: a CSV stream in, the catalog upserted in one transaction, exact counts out.

Plain Python over a psycopg 3 connection (no request, no Celery), so a Celery task, a management
command and a test on an in-memory CSV all run the same code. How it goes:

1. Parsing (`reading`): the file is decoded and validated row by row; each valid row is COPYed at
   once into a temporary staging table (`staging`), each bad one becomes a `RowError` with its
   line, and the import goes on.
2. Importing (`staging`): the staged rows are sorted by SKU in runs and upserted into the catalog
   in chunks, the last row of a SKU winning, with created, updated, unchanged (not written),
   skipped and duplicate rows counted in SQL; the catalog's triggers mark each product whose
   text changed for the search upkeep (or, for an import of a large share of the catalog, the
   whole catalog is marked once, and the upkeep rebuilds). A dry run compares the chunks with
   the catalog instead, and records what would change.

All of it in ONE transaction: a file-level error, a failure or an exception from the progress
callback leaves the catalog exactly as it was. Progress goes to a callback, never to the
database: the caller records it through another connection, outside this transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, BinaryIO
from uuid import UUID

import psycopg
from psycopg.pq import TransactionStatus
from psycopg.rows import tuple_row

from .contract import (
    PARSED_PERCENT,
    ImportFailed,
    ImportOptions,
    ImportResult,
    Progress,
    Reporter,
    RowError,
    RowErrors,
)
from .staging import copy_into_staging, upsert_staged_rows

__all__ = [
    "PARSED_PERCENT",
    "ImportFailed",
    "ImportOptions",
    "ImportResult",
    "Progress",
    "RowError",
    "RowErrors",
    "import_products",
]


def import_products(
    conn: psycopg.Connection[Any],
    source: BinaryIO,
    *,
    size_bytes: int | None = None,
    progress: Callable[[Progress], None] = lambda progress: None,
    progress_interval: float = 0.5,
    options: ImportOptions = ImportOptions(),  # noqa: B008  # frozen
    changes_of: UUID | None = None,
    before_images_of: UUID | None = None,
) -> ImportResult:
    """Import a CSV catalog from `source` into the products table, all of it or nothing.

    The connection: autocommit on or off, but idle (no transaction open; ValueError otherwise):
    the engine runs its own transaction and commits it before returning, so the import is durable
    when this returns and the catalog unchanged when it raises. Use a connection of its own: the
    caller must not use it while the import runs (from the progress callback, say).

    `source` is read once, front to back, in binary (decompress a .gz before). `size_bytes` is
    the size of what will be read from it, for the parsing percent; None if unknown.

    `progress` is called at the start of each stage, then at most every `progress_interval`
    seconds as long as the work moves on (the database's steps take at most about a third of a
    second each here), and last with `percent` 100, just before the commit. It runs while the
    transaction is open, so it must be quick and use another connection; an exception raised from
    it (a cancellation, say) rolls the import back and propagates.

    `options`: what to do with bad rows and with products that exist, and how the columns map
    (`ImportOptions`). With `changes_of` (a job's id) it is a dry run: the file is read, checked
    and staged as for an import, then compared with the catalog; the products that it would
    create or update are recorded as that job's changes (`JobChange`), and no product is
    written. The counts are the import's. With `before_images_of` (a job's id), the import
    records each product it updates as that job's changes, with the product as it was: what a
    revert of the job puts back (`jobs.undo`); the products it creates are the ones whose
    `created_at` is the result's `written_at`.

    Raises ImportFailed for a file that cannot be imported: a header that does not map `sku`
    and `name` (`needs_mapping`), an empty file, bytes that are not UTF-8, a quote never closed;
    or, with `on_error="abort"`, any bad row (the exception carries them). Any other exception
    (database errors included) propagates; nothing is committed either way.
    """
    status = conn.info.transaction_status
    if status != TransactionStatus.IDLE:
        raise ValueError(
            f"import_products() needs an idle connection (it is {status.name}): it commits its "
            "own transaction, so commit or roll back first"
        )
    reporter = Reporter(progress, progress_interval)
    with conn.transaction(), conn.cursor(row_factory=tuple_row) as cursor:
        parsed = copy_into_staging(cursor, source, size_bytes, reporter, options)
        if parsed.invalid_count and options.on_error == "abort":
            raise ImportFailed(
                f"{parsed.invalid_count:,} of {parsed.total_rows:,} rows are not valid, and "
                "this import was to stop at any bad row (on_error=abort): nothing was imported. "
                "The error report lists them.",
                errors=parsed.errors,
                invalid_count=parsed.invalid_count,
            )
        counts = upsert_staged_rows(cursor, parsed, reporter, options, changes_of, before_images_of)
        written_at = None
        if changes_of is None:  # what the import's writes carry: created_at, updated_at
            now = cursor.execute("SELECT now()").fetchone()
            written_at = now[0] if now else None
        # Still inside the transaction, so that an exception from the callback rolls back.
        reporter.report("importing", parsed.total_rows, parsed.total_rows, 100, force=True)
    return ImportResult(
        total_rows=parsed.total_rows,
        created_count=counts.created,
        updated_count=counts.updated,
        invalid_count=parsed.invalid_count,
        duplicate_count=counts.duplicates,
        unchanged_count=counts.unchanged,
        skipped_count=counts.skipped,
        errors=parsed.errors,
        columns=parsed.columns,
        written_at=written_at,
    )
