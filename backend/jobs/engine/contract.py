"""What the engine promises and reports: its errors, its progress, its result.

Shared by the engine's modules (`reading`, `staging`) and its callers; nothing here touches the
database or the file.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final, Literal

# Percent of the whole at the end of parsing and once the runs are sorted, after timings of the
# real file's shape (docs/benchmarks.md, "The import"): parsing takes about an eighth, sorting a
# twelfth, the upsert the rest.
PARSED_PERCENT: Final = 12
SORTED_PERCENT: Final = 20
# The bad rows of an import stay in memory up to this many bytes, then go to a temporary file.
ERRORS_IN_MEMORY_BYTES: Final = 4 * 2**20


class ImportFailed(Exception):
    """The file cannot be imported at all; the message says what is wrong and where.

    Nothing was committed: the catalog is exactly as it was. `columns` is the file's header
    when it is the header that the options could not map (a mapping would help), else None.
    `errors` and `invalid_count`: the bad rows of an import that `on_error="abort"` ended.
    """

    def __init__(
        self,
        message: str,
        *,
        columns: list[str] | None = None,
        errors: RowErrors | None = None,
        invalid_count: int = 0,
    ) -> None:
        super().__init__(message)
        self.columns = columns
        self.errors = errors if errors is not None else RowErrors()
        self.invalid_count = invalid_count

    @property
    def needs_mapping(self) -> bool:
        return self.columns is not None


@dataclass(frozen=True)
class ImportOptions:
    """How to import a file. `on_error`: "skip" leaves bad rows out and reports them, "abort"
    imports nothing if any row is bad. `update_existing`: False creates only, leaving every
    product that exists as it is (counted as skipped). `mapping`: a column of the file to a
    field (sku, name, description, active) or None to ignore it (`engine.header`)."""

    on_error: Literal["skip", "abort"] = "skip"
    update_existing: bool = True
    mapping: Mapping[str, str | None] | None = None


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


class RowErrors:
    """Every bad row of an import, in the order of the file, whatever their number.

    Kept as JSON lines in a spooled temporary file: in memory up to ERRORS_IN_MEMORY_BYTES, then
    on disk, in a file that has no name (gone when this is, or when the process ends), so a file
    of bad rows costs the worker disk, not memory. Each row being cut to size (`RowError`), the
    spool is at most about the size of the file, plus the reasons.
    """

    def __init__(self) -> None:
        self._spool = tempfile.SpooledTemporaryFile(max_size=ERRORS_IN_MEMORY_BYTES)  # noqa: SIM115
        self._count = 0

    def append(self, error: RowError) -> None:
        record = json.dumps([error.line, error.reason, error.fields], ensure_ascii=False)
        self._spool.write(record.encode() + b"\n")
        self._count += 1

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[RowError]:
        """The errors from the first; appending meanwhile is not allowed."""
        self._spool.seek(0)
        try:
            for record in self._spool:
                line, reason, fields = json.loads(record)
                yield RowError(line, reason, fields)
        finally:
            self._spool.seek(0, 2)

    @property
    def on_disk(self) -> bool:
        """Whether they outgrew memory (the spool's own flag, which typeshed does not list)."""
        return bool(self._spool._rolled)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class ImportResult:
    """What an import did, or a dry run would do. `total_rows` counts the file's records (not
    lines, blank lines skipped, header excluded) = `invalid_count` + `duplicate_count` +
    `created_count` + `updated_count` + `unchanged_count` + `skipped_count`. `duplicate_count`
    counts valid rows superseded by a later row of the same SKU; `unchanged_count` rows equal to
    their product (not written); `skipped_count` rows of products that exist, left alone because
    of `update_existing=False`. `errors` holds every bad row, `invalid_count` counts them.
    `columns` is the file's header. `written_at` is the time of an import's writes: the
    `created_at` of each product it created, and the `updated_at` of each it created or updated
    (None for a dry run).
    """

    total_rows: int
    created_count: int
    updated_count: int
    invalid_count: int
    duplicate_count: int
    unchanged_count: int = 0
    skipped_count: int = 0
    written_at: datetime | None = None
    errors: RowErrors = field(default_factory=RowErrors)
    columns: list[str] = field(default_factory=list)


class Reporter:
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
