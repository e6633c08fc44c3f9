"""CSV that spreadsheets open safely: every CSV the service writes goes through `SafeCsvWriter`.

A spreadsheet runs a cell that starts with `=`, `+`, `-` or `@` as a formula (CSV injection, in
OWASP's words); a leading tab or carriage return can hide such a start. Such a cell is written
with a `'` before it, so spreadsheets take it as text. The `'` stays in the value: read back, a
value that starts with `'` and then one of those characters was escaped by the service.
"""

import csv
from collections.abc import Iterable
from typing import TextIO

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: str) -> str:
    """`value`, with `'` before it if a spreadsheet would read it as a formula."""
    return f"'{value}" if value.startswith(FORMULA_PREFIXES) else value


class SafeCsvWriter:
    """A `csv.writer` whose every cell goes through `spreadsheet_safe` (numbers as text)."""

    def __init__(self, file: TextIO) -> None:
        self._writer = csv.writer(file)

    def writerow(self, row: Iterable[str | int]) -> None:
        self._writer.writerow([spreadsheet_safe(str(cell)) for cell in row])
