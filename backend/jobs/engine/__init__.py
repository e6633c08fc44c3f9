"""The import engine: a CSV stream in, the catalog upserted in one transaction, exact counts out.

Plain Python over a psycopg 3 connection (no Django, no Celery), so a Celery task, a management
command and a test on an in-memory CSV all run the same code. How it goes:

1. Parsing. The bytes are decoded incrementally (UTF-8, with or without a BOM) and read by the
   `csv` module (CRLF or LF; quoted commas, quotes and newlines). Each valid row is COPYed at once,
   with its position in the file, into a temporary staging table; a bad row goes to the errors with
   the physical line it starts on, and the import goes on. Nothing is held per row, so memory does
   not grow with the file.
2. Importing. The database sorts the staged rows by SKU in runs, then merges the runs as it
   upserts them into the catalog in chunks of about a quarter of a second, in SKU order: the last
   row of a SKU wins (SKUs compared with `lower()`, as the catalog's unique `sku_key` does), and
   created, updated and duplicate rows are counted in SQL. The search table is marked stale.
   All of it in ONE transaction: a file-level error, a failure or an exception from the progress
   callback leaves the catalog exactly as it was.

Progress goes to a callback, never to the database: the caller records it through another
connection, outside this transaction.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, BinaryIO, Final, Literal

import psycopg
from psycopg.pq import TransactionStatus
from psycopg.rows import tuple_row

if TYPE_CHECKING:
    from _csv import Reader as CsvReader

# The catalog's tables (Django's names for products.Product, ProductCount and SearchIndexState).
PRODUCT_TABLE: Final = "products_product"
SEARCH_STATE_TABLE: Final = "products_searchindexstate"
# What `products.search.mark_stale()` executes, repeated here because the engine does not import
# Django; a test checks the two stay the same. Searches scan the products until the search table
# is rebuilt: queue `products.tasks.rebuild_search_index` once the import has committed.
MARK_SEARCH_STALE_SQL: Final = (
    f"INSERT INTO {SEARCH_STATE_TABLE} AS s (id, fresh, generation) VALUES (1, false, 1)"
    " ON CONFLICT (id) DO UPDATE SET fresh = false, generation = s.generation + 1"
)
# Writers of the catalog wait while an import writes it, and the import waits for them: taken
# before the first upsert, held to the commit. Without it, an API write that inserts a SKU the
# import has not reached yet and then waits for the import's lock on the ProductCount row (the
# count triggers) deadlocks with the import reaching that SKU. Readers are not blocked.
LOCK_CATALOG_SQL: Final = f"LOCK TABLE {PRODUCT_TABLE} IN SHARE ROW EXCLUSIVE MODE"

MAX_SKU_LENGTH: Final = 255
MAX_NAME_LENGTH: Final = 255
DEFAULT_MAX_ERRORS: Final = 10_000
# What a kept error may hold of its row: the report shows the row, but a row of a broken file can
# be huge, and the kept errors must stay a few megabytes whatever the file.
MAX_ERROR_FIELDS: Final = 20
MAX_ERROR_FIELD_CHARS: Final = 1_000
# Percent of the whole at the end of parsing and once the runs are sorted, after timings of the
# 500k-row file: parsing (COPY included) takes about an eighth, sorting a twelfth, the upsert the
# rest.
PARSED_PERCENT: Final = 12
SORTED_PERCENT: Final = 20
# Staged rows are sorted in runs of about this many rows (a third of a second each here), and in
# at most this many runs (the merge reads all of them at once).
RUN_ROWS: Final = 100_000
MAX_RUNS: Final = 64
# Each upsert statement aims at this many seconds, so progress moves about twice a second.
CHUNK_SECONDS: Final = 0.25
FIRST_CHUNK_ROWS: Final = 10_000
MIN_CHUNK_ROWS: Final = 1_000
# Parsing looks at the clock once per this many records.
RECORDS_PER_CLOCK_CHECK: Final = 2_048

ACTIVE_VALUES: Final[dict[str, bool | None]] = {
    "true": True,
    "1": True,
    "yes": True,
    "false": False,
    "0": False,
    "no": False,
    "": None,  # not given: a new product is active, an existing one keeps its flag
}
# The spellings looked up as they stand; any other goes through strip().lower() first.
_ACTIVE_AS_WRITTEN: Final = {
    spelling: value
    for word, value in ACTIVE_VALUES.items()
    for spelling in (word, word.upper(), word.capitalize())
}
_NOT_AS_WRITTEN: Final = object()
_ACTIVE_HINT = "use true/false, 1/0 or yes/no, or leave it empty"
_REQUIRED_COLUMNS = ("sku", "name")
_KNOWN_COLUMNS = ("sku", "name", "description", "active")

_STAGING_SQL = """
CREATE TEMPORARY TABLE import_staging (
    position integer NOT NULL,
    sku text NOT NULL,
    name text NOT NULL,
    description text,
    active boolean,
    sku_key text COLLATE "C" GENERATED ALWAYS AS (lower(sku)) STORED
) ON COMMIT DROP
"""
_COPY_SQL = (
    "COPY import_staging (position, sku, name, description, active) FROM STDIN (FORMAT BINARY)"
)
_COPY_TYPES = ["int4", "text", "text", "text", "bool"]
# `sku_key` is `lower(sku)` computed with the database's collation, as the catalog computes its
# unique key, so two rows fall together here exactly when they would collide there. It is sorted
# in the "C" collation (byte order): the same groups, much faster than a linguistic collation, and
# for the usual C.UTF-8 databases the very order of the catalog's index, which makes the upsert
# about a quarter faster than in file order.
#
# Sorting all the rows in one statement would leave progress still for over a second per
# 500,000 rows (17 s for 5,000,000), so they are sorted in runs (children of `import_runs`,
# each sorted by SKU then position, newest first, with an index in that order) and the database
# merges the runs as it reads them (a Merge Append of index scans).
_RUNS_SQL = """
CREATE TEMPORARY TABLE import_runs (
    position integer,
    sku text,
    name text,
    description text,
    active boolean,
    sku_key text COLLATE "C"
) ON COMMIT DROP
"""
_PAGES_SQL = (
    "SELECT pg_relation_size('pg_temp.import_staging') / current_setting('block_size')::bigint"
)


class ImportFailed(Exception):
    """The file cannot be imported at all; the message says what is wrong and where.

    Nothing was committed: the catalog is exactly as it was.
    """


@dataclass(frozen=True)
class Progress:
    """Where an import is.

    `stage` is "parsing" (reading the file; `total_rows` is None because it is not known yet,
    `processed_rows` counts records read so far, not lines) or "importing" (`total_rows` is the
    file's record count, `processed_rows` counts records dealt with: rejected, superseded by a
    later row of the same SKU, or written). `percent` (0-100) never goes down; during parsing it
    comes from the bytes read, so it stays 0 when the size of the stream is not known.
    """

    stage: Literal["parsing", "importing"]
    processed_rows: int
    total_rows: int | None
    percent: int


@dataclass(frozen=True)
class RowError:
    """A row that was not imported: the physical line it starts on, why, and its fields.

    `fields` is the row as parsed (at most 20 fields of at most 1,000 characters each; empty when
    the row could not be parsed). It may hold NUL characters: they are one of the reasons.
    """

    line: int
    reason: str
    fields: list[str]


@dataclass(frozen=True)
class ImportResult:
    """What an import did. `total_rows` counts the file's records (not lines, blank lines
    skipped, header excluded) = `invalid_count` + `duplicate_count` + `created_count` +
    `updated_count`. `duplicate_count` counts valid rows superseded by a later row of the same
    SKU. `errors` keeps the first `max_errors` bad rows; `invalid_count` counts all of them.
    """

    total_rows: int
    created_count: int
    updated_count: int
    invalid_count: int
    duplicate_count: int
    errors: list[RowError] = field(default_factory=list)


def import_products(
    conn: psycopg.Connection[Any],
    source: BinaryIO,
    *,
    size_bytes: int | None = None,
    progress: Callable[[Progress], None] = lambda progress: None,
    progress_interval: float = 0.5,
    max_errors: int = DEFAULT_MAX_ERRORS,
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

    Raises ImportFailed for a file that cannot be imported: no `sku` or `name` column, an empty
    file, bytes that are not UTF-8, broken CSV (a quote never closed, a field over the `csv`
    module's limit of 131,072 characters). Any other exception (database errors included)
    propagates; nothing is committed either way.
    """
    status = conn.info.transaction_status
    if status != TransactionStatus.IDLE:
        raise ValueError(
            f"import_products() needs an idle connection (it is {status.name}): it commits its "
            "own transaction, so commit or roll back first"
        )
    reporter = _Reporter(progress, progress_interval)
    with conn.transaction(), conn.cursor(row_factory=tuple_row) as cursor:
        cursor.execute(_STAGING_SQL)
        parsed = _parse_into_staging(cursor, source, size_bytes, reporter, max_errors)
        counts = _upsert(cursor, parsed, reporter)
        # Still inside the transaction, so that an exception from the callback rolls back.
        reporter.report("importing", parsed.total_rows, parsed.total_rows, 100, force=True)
    return ImportResult(
        total_rows=parsed.total_rows,
        created_count=counts.created,
        updated_count=counts.updated,
        invalid_count=parsed.invalid_count,
        duplicate_count=counts.duplicates,
        errors=parsed.errors,
    )


class _Reporter:
    """Calls the progress callback at most every `interval` seconds, unless forced."""

    def __init__(self, callback: Callable[[Progress], None], interval: float) -> None:
        self._callback = callback
        self._interval = interval
        self._next = 0.0
        self._percent = 0

    def due(self) -> bool:
        return time.monotonic() >= self._next

    def report(
        self,
        stage: Literal["parsing", "importing"],
        processed_rows: int,
        total_rows: int | None,
        percent: int,
        *,
        force: bool = False,
    ) -> None:
        if not force and not self.due():
            return
        self._percent = max(self._percent, min(percent, 100))
        self._callback(Progress(stage, processed_rows, total_rows, self._percent))
        self._next = time.monotonic() + self._interval


class _CountingReader(io.BufferedIOBase):
    """The source as TextIOWrapper reads it, counting bytes (for the percent and the position of
    an undecodable byte) and noting whether a NUL byte went by (so rows are checked for one only
    in a file that has one)."""

    def __init__(self, source: BinaryIO) -> None:
        super().__init__()
        self._source = source
        self.bytes_read = 0
        self.saw_nul = False

    @property
    def name(self) -> object:
        return getattr(self._source, "name", None)

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1, /) -> bytes:
        data = self._source.read(-1 if size is None else size)
        self.bytes_read += len(data)
        if not self.saw_nul and b"\x00" in data:
            self.saw_nul = True
        return data

    def read1(self, size: int = -1, /) -> bytes:
        return self.read(size)


@dataclass
class _Parsed:
    total_rows: int = 0
    valid_rows: int = 0
    invalid_count: int = 0
    errors: list[RowError] = field(default_factory=list)
    has_description: bool = False
    has_active: bool = False


@dataclass(frozen=True)
class _Counts:
    created: int
    updated: int
    duplicates: int


def _parse_into_staging(
    cursor: psycopg.Cursor[Any],
    source: BinaryIO,
    size_bytes: int | None,
    reporter: _Reporter,
    max_errors: int,
) -> _Parsed:
    """Read the file and COPY its valid rows into `import_staging`; the bad ones become errors.

    The loop over rows is the hot path of the whole import (500,000 rows in about 2 s): one
    length check, two strips and four comparisons for a good row, no function layers.
    """
    counter = _CountingReader(source)
    text = io.TextIOWrapper(counter, encoding="utf-8-sig", newline="")
    # strict: a quote that is never closed is an error, not the rest of the file in one field.
    reader = csv.reader(text, strict=True)
    parsed = _Parsed()
    reporter.report("parsing", 0, None, 0, force=True)

    header = _read_header(reader, counter)
    ncols = len(header)
    i_sku = header.index("sku")
    i_name = header.index("name")
    i_description = header.index("description") if "description" in header else -1
    i_active = header.index("active") if "active" in header else -1
    parsed.has_description = i_description >= 0
    parsed.has_active = i_active >= 0
    errors = parsed.errors

    def reject(line: int, reason: str, row: list[str]) -> None:
        parsed.invalid_count += 1
        if len(errors) < max_errors:
            kept = [value[:MAX_ERROR_FIELD_CHARS] for value in row[:MAX_ERROR_FIELDS]]
            errors.append(RowError(line, reason, kept))

    position = 0  # records read; a valid row's position orders "last row wins"
    valid = 0
    last_line = reader.line_num  # the line the previous record ended on
    next_check = RECORDS_PER_CLOCK_CHECK
    with cursor.copy(_COPY_SQL) as copy:
        copy.set_types(_COPY_TYPES)
        write_row = copy.write_row
        while True:
            try:
                for row in reader:
                    if len(row) == ncols:
                        position += 1
                        sku = row[i_sku].strip()
                        name = row[i_name].strip()
                        description = row[i_description] if i_description >= 0 else None
                        active = (
                            _ACTIVE_AS_WRITTEN.get(row[i_active], _NOT_AS_WRITTEN)
                            if i_active >= 0
                            else None
                        )
                        if (
                            sku
                            and name
                            and len(sku) <= MAX_SKU_LENGTH
                            and len(name) <= MAX_NAME_LENGTH
                            and active is not _NOT_AS_WRITTEN
                            and not counter.saw_nul
                        ):
                            write_row((position, sku, name, description, active))
                            valid += 1
                        else:
                            # The slow path: an active value spelled otherwise, or a problem.
                            reason = _row_problem(row, sku, name, i_active, counter.saw_nul)
                            if reason is None:
                                if i_active >= 0:
                                    active = ACTIVE_VALUES[row[i_active].strip().lower()]
                                write_row((position, sku, name, description, active))
                                valid += 1
                            else:
                                reject(last_line + 1, reason, row)
                    elif row:
                        position += 1
                        reject(last_line + 1, f"expected {ncols} fields, found {len(row)}", row)
                    last_line = reader.line_num
                    if position >= next_check:
                        next_check = position + RECORDS_PER_CLOCK_CHECK
                        if reporter.due():
                            percent = _parse_percent(counter.bytes_read, size_bytes)
                            reporter.report("parsing", position, None, percent)
                break
            except csv.Error as exc:
                # A quote in the wrong place: the reader drops the rest of the line and goes on.
                position += 1
                _raise_if_fatal(exc, reader.line_num, last_line + 1)
                reject(last_line + 1, f"not valid CSV: {exc}", [])
                last_line = reader.line_num
            except UnicodeDecodeError as exc:
                raise _not_utf8(exc, counter.bytes_read, reader.line_num) from None
    parsed.total_rows = position
    parsed.valid_rows = valid
    reporter.report("parsing", position, None, PARSED_PERCENT, force=True)
    return parsed


def _read_header(reader: CsvReader, counter: _CountingReader) -> list[str]:
    """The header's column names (stripped, lower-cased), after checking the required ones."""
    try:
        raw = next(reader, None)
    except UnicodeDecodeError as exc:
        raise _not_utf8(exc, counter.bytes_read, reader.line_num) from None
    except csv.Error as exc:
        raise ImportFailed(f"Line 1: the header is not valid CSV ({exc}).") from None
    if raw is None:
        raise ImportFailed("The file is empty.")
    if not raw:
        raise ImportFailed("Line 1 is empty: the first line must name the columns (sku, name).")
    header = [column.strip().lower() for column in raw]
    missing = [column for column in _REQUIRED_COLUMNS if column not in header]
    if missing:
        names = " or ".join(f"'{column}'" for column in missing)
        raise ImportFailed(f"Line 1: no {names} column (columns: {_describe_columns(raw)}).")
    for column in _KNOWN_COLUMNS:
        if header.count(column) > 1:
            raise ImportFailed(f"Line 1: the column '{column}' appears more than once.")
    return header


def _describe_columns(raw: list[str], limit: int = 10) -> str:
    shown = []
    for column in raw[:limit]:
        name = column.strip()[:40]
        shown.append(name if name.isprintable() and name else repr(name))
    more = f", and {len(raw) - limit} more" if len(raw) > limit else ""
    return ", ".join(shown) + more


def _row_problem(row: list[str], sku: str, name: str, i_active: int, check_nul: bool) -> str | None:
    """Why a row of the right length cannot be imported; None if it can."""
    problems = []
    if not sku:
        problems.append("empty sku")
    elif len(sku) > MAX_SKU_LENGTH:
        problems.append(f"sku is longer than {MAX_SKU_LENGTH} characters ({len(sku)})")
    if not name:
        problems.append("empty name")
    elif len(name) > MAX_NAME_LENGTH:
        problems.append(f"name is longer than {MAX_NAME_LENGTH} characters ({len(name)})")
    if i_active >= 0 and row[i_active].strip().lower() not in ACTIVE_VALUES:
        shown = row[i_active][:40]
        problems.append(f"invalid active value {shown!r} ({_ACTIVE_HINT})")
    if check_nul and any("\x00" in value for value in row):
        problems.append("a NUL byte in a field")
    return "; ".join(problems) if problems else None


def _raise_if_fatal(exc: csv.Error, line: int, record_line: int) -> None:
    """Errors after which the reader cannot tell where rows start again end the import."""
    message = str(exc)
    if message.startswith("unexpected end of data"):
        raise ImportFailed(
            f"Line {record_line}: a quoted field in the row starting here is never closed "
            "(the file ends inside it)."
        ) from None
    if message.startswith("field larger than field limit"):
        raise ImportFailed(
            f"Line {record_line}: a field is longer than {csv.field_size_limit():,} characters "
            "(a quote left open?)."
        ) from None
    if not message.startswith("',' expected after '\"'"):
        raise ImportFailed(f"Line {line}: not valid CSV ({message}).") from None


def _not_utf8(exc: UnicodeDecodeError, bytes_read: int, lines_read: int) -> ImportFailed:
    """Where the undecodable byte is: `exc.object` is the tail of what was read so far (the
    decoder's leftover bytes plus the last chunk), and what was decoded before it but not yet
    handed to the reader holds no line break, so its line is the reader's next one plus the line
    breaks before it in that tail. Bytes and lines are numbered from 1."""
    offset = bytes_read - len(exc.object) + exc.start
    before = exc.object[: exc.start]
    line = lines_read + 1 + before.count(b"\n") + before.count(b"\r") - before.count(b"\r\n")
    bad = exc.object[exc.start : exc.start + 1].hex().upper()
    return ImportFailed(
        f"Byte {offset + 1:,} (line {line:,}) is not UTF-8 (0x{bad}): "
        "the file must be CSV text in UTF-8."
    )


def _parse_percent(bytes_read: int, size_bytes: int | None) -> int:
    if not size_bytes:
        return 0
    return min(PARSED_PERCENT, PARSED_PERCENT * bytes_read // size_bytes)


def _upsert(cursor: psycopg.Cursor[Any], parsed: _Parsed, reporter: _Reporter) -> _Counts:
    """Sort the staged rows in runs, then upsert them into the catalog chunk by chunk."""
    total = parsed.total_rows
    valid = parsed.valid_rows
    invalid = parsed.invalid_count
    reporter.report("importing", invalid, total, PARSED_PERCENT, force=True)
    if valid == 0:
        return _Counts(created=0, updated=0, duplicates=0)

    cursor.execute(_RUNS_SQL)
    pages = _fetch_int(cursor, _PAGES_SQL)
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

    cursor.execute(LOCK_CATALOG_SQL)
    statement = _chunk_statement(parsed)
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
    cursor.execute(MARK_SEARCH_STALE_SQL)
    return _Counts(created=created, updated=written - created, duplicates=valid - written)


def _chunk_statement(parsed: _Parsed) -> str:
    """Upsert the next chunk: the winners (newest rows) of the next LIMIT keys after a key.

    It answers how many products it created, how many it wrote, how many staged rows it dealt
    with (duplicates included) and the last key. When the file has an `active` column, the rows
    that give a value set it and the others keep the product's (two INSERTs over disjoint keys);
    a new product is active unless the file says otherwise. `xmax = 0` holds for a freshly
    inserted row and not for one updated by ON CONFLICT: that is how created and updated rows are
    told apart without sending a row back to Python.
    """
    updates = ["name = EXCLUDED.name", "sku = EXCLUDED.sku", "updated_at = EXCLUDED.updated_at"]
    if parsed.has_description:
        updates.append("description = EXCLUDED.description")
    variants = [("", updates)]
    if parsed.has_active:
        variants = [
            (" WHERE active IS NOT NULL", [*updates, "active = EXCLUDED.active"]),
            (" WHERE active IS NULL", updates),
        ]
    inserts = [
        f"written_{number} AS (INSERT INTO {PRODUCT_TABLE} AS p"
        " (sku, name, description, active, created_at, updated_at)"
        " SELECT sku, name, coalesce(description, ''), coalesce(active, true), now(), now()"
        f" FROM chunk{condition}"
        f" ON CONFLICT (sku_key) DO UPDATE SET {', '.join(assignments)}"
        " RETURNING (xmax = 0) AS created)"
        for number, (condition, assignments) in enumerate(variants)
    ]
    created = " + ".join(
        f"(SELECT count(*) FILTER (WHERE created) FROM written_{number})"
        for number in range(len(variants))
    )
    return (
        "WITH chunk AS MATERIALIZED ("
        " SELECT DISTINCT ON (sku_key) sku_key, sku, name, description, active,"
        " count(*) OVER (PARTITION BY sku_key) AS copies"
        " FROM import_runs WHERE sku_key > %s ORDER BY sku_key, position DESC LIMIT %s"
        f"), {', '.join(inserts)}"
        f" SELECT {created}, count(*), coalesce(sum(copies), 0)::bigint, max(sku_key) FROM chunk"
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
