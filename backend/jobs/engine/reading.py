"""Reading a catalog: the CSV stream decoded, its header checked, each row validated.

The bytes are decoded incrementally (UTF-8, with or without a BOM) and read by the `csv` module
(CRLF or LF; quoted commas, quotes and newlines). Each valid row goes at once to `write_row`
(the COPY into the staging table), with its position in the file; a bad row becomes a `RowError`
with the physical line it starts on, and the reading goes on. Nothing is held per row, so memory
does not grow with the file. Errors that leave no way to tell where rows start again end the
import with `ImportFailed`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, BinaryIO, Final

from products.sku import sku_problem as sku_identity_problem

from .contract import PARSED_PERCENT, ImportFailed, Reporter, RowError, RowErrors
from .header import Columns, describe_columns, map_columns

if TYPE_CHECKING:
    from _csv import Reader as CsvReader

MAX_SKU_LENGTH: Final = 255
MAX_NAME_LENGTH: Final = 255
# What a kept error may hold of its row: the report shows the row, but a row of a broken file can
# be huge.
MAX_ERROR_FIELDS: Final = 20
MAX_ERROR_FIELD_CHARS: Final = 1_000
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


class CountingReader(io.BufferedIOBase):
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
class Parsed:
    total_rows: int = 0
    valid_rows: int = 0
    invalid_count: int = 0
    errors: RowErrors = field(default_factory=RowErrors)
    has_description: bool = False
    has_active: bool = False
    columns: list[str] = field(default_factory=list)


def read_rows(
    source: BinaryIO,
    size_bytes: int | None,
    reporter: Reporter,
    write_row: Callable[[tuple[Any, ...]], None],
    mapping: Mapping[str, str | None] | None = None,
) -> Parsed:
    """Read the file and hand its valid rows to `write_row`; the bad ones become errors.

    The loop over rows is the hot path of the whole import (docs/benchmarks.md, "The import"):
    two strips, two length checks, two string tests and four comparisons for a good row, no
    function layers.
    """
    counter = CountingReader(source)
    text = io.TextIOWrapper(counter, encoding="utf-8-sig", newline="")
    # strict: a quote that is never closed is an error, not the rest of the file in one field.
    reader = csv.reader(text, strict=True)
    parsed = Parsed()
    reporter.report("parsing", 0, None, 0, force=True)

    columns = _read_header(reader, counter, mapping)
    parsed.columns = columns.header
    ncols = len(columns.header)
    i_sku = columns.sku
    i_name = columns.name
    i_description = columns.description
    i_active = columns.active
    parsed.has_description = i_description >= 0
    parsed.has_active = i_active >= 0
    errors = parsed.errors

    def reject(line: int, reason: str, row: list[str]) -> None:
        parsed.invalid_count += 1
        kept = [value[:MAX_ERROR_FIELD_CHARS] for value in row[:MAX_ERROR_FIELDS]]
        errors.append(RowError(line, reason, kept))

    position = 0  # records read; a valid row's position orders "last row wins"
    valid = 0
    last_line = reader.line_num  # the line the previous record ended on
    next_check = RECORDS_PER_CLOCK_CHECK
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
                        and sku.isascii()
                        and sku.isprintable()
                    ):
                        write_row((position, sku, name, description, active))
                        valid += 1
                    else:
                        # The slow path: an active value spelled otherwise, a SKU beyond
                        # printable ASCII (checked by `products.sku`), or a problem.
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
            # A quote in the wrong place, or a field over the limit: the reader drops the rest
            # of the line and goes on.
            position += 1
            reject(last_line + 1, _bad_record(exc, reader.line_num, last_line + 1), [])
            last_line = reader.line_num
        except UnicodeDecodeError as exc:
            raise _not_utf8(exc, counter.bytes_read, reader.line_num) from None
    parsed.total_rows = position
    parsed.valid_rows = valid
    reporter.report("parsing", position, None, PARSED_PERCENT, force=True)
    return parsed


def _read_header(
    reader: CsvReader, counter: CountingReader, mapping: Mapping[str, str | None] | None
) -> Columns:
    """Each field's column, after checking that the header maps sku and name."""
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
    hint = _header_hint(raw)
    try:
        return map_columns(raw, mapping)
    except ImportFailed as exc:
        if not hint:
            raise
        raise ImportFailed(f"Line 1: {hint}", columns=exc.columns) from None


def _header_hint(raw: list[str]) -> str:
    """The likelier cause of a header that does not map, when the line shows one: another
    delimiter (only commas separate columns), or Excel's `sep=` line before the header."""
    columns = f"(columns: {describe_columns(raw)})"
    if raw[0].strip().lower().startswith("sep="):
        return (
            f"a first line 'sep=...' is a hint for Excel {columns}: remove it, so that line 1 "
            "is the header."
        )
    if len(raw) == 1:
        for delimiter, shown in ((";", "semicolons"), ("\t", "tabs"), ("|", "'|'")):
            if delimiter in raw[0]:
                return (
                    f"only commas separate columns, and this line seems to use {shown} {columns}."
                )
    return ""


def _row_problem(row: list[str], sku: str, name: str, i_active: int, check_nul: bool) -> str | None:
    """Why a row of the right length cannot be imported; None if it can."""
    problems = []
    if not sku:
        problems.append("empty sku")
    elif len(sku) > MAX_SKU_LENGTH:
        problems.append(f"sku is longer than {MAX_SKU_LENGTH} characters ({len(sku)})")
    elif (sku_problem := sku_identity_problem(sku)) is not None:
        problems.append(f"sku {sku_problem}")
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


def _bad_record(exc: csv.Error, line: int, record_line: int) -> str:
    """Why the record starting on `record_line` is bad; ImportFailed for the errors after which
    the reader cannot tell where rows start again."""
    message = str(exc)
    if message.startswith("unexpected end of data"):
        raise ImportFailed(
            f"Line {record_line}: a quoted field in the row starting here is never closed "
            "(the file ends inside it)."
        ) from None
    if message.startswith("field larger than field limit"):
        lines = (
            f"; lines {record_line:,}-{line:,} were read as this row" if line > record_line else ""
        )
        return (
            f"a field is longer than {csv.field_size_limit():,} characters (a quote left open?)"
            f"{lines}"
        )
    if not message.startswith("',' expected after '\"'"):
        raise ImportFailed(f"Line {line}: not valid CSV ({message}).") from None
    return f"not valid CSV: {message}"


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
