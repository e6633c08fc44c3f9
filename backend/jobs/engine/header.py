"""Which column of a file is which field: a mapping the user gave, else names and aliases.

A header cell is compared by its normal form (`normal_name`): trimmed, lower-cased, `_` and `-`
read as spaces, runs of spaces as one. A mapping (`ImportOptions.mapping`) names columns as the
header spells them (or by the same normal form) and gives each a field or None (ignored); the
fields it assigns win, and the other columns are guessed by name from `ALIASES`, for the fields
the mapping left open. The dashboard guesses the same way (frontend/src/features/imports).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from .contract import ImportFailed

FIELDS: Final = ("sku", "name", "description", "active")
REQUIRED_FIELDS: Final = ("sku", "name")
# The names real exports give each field (Shopify, WooCommerce, spreadsheets), in normal form.
ALIASES: Final[dict[str, tuple[str, ...]]] = {
    "sku": (
        "sku", "product sku", "item sku", "sku code", "product code", "item code",
        "variant sku", "part number", "article number",
    ),
    "name": ("name", "product name", "item name", "title", "product title"),
    "description": ("description", "product description", "item description", "desc", "details"),
    "active": ("active", "is active", "enabled", "published"),
}  # fmt: skip
_FIELD_OF_ALIAS: Final = {alias: field for field, names in ALIASES.items() for alias in names}
_SPACES = re.compile(r"[\s_-]+")


def normal_name(column: str) -> str:
    return _SPACES.sub(" ", column.replace("\ufeff", "")).strip().lower()


@dataclass(frozen=True)
class Columns:
    """The position in the row of each field (-1: the file has none), and the header as read."""

    sku: int
    name: int
    description: int
    active: int
    header: list[str]


def describe_columns(raw: list[str], limit: int = 10) -> str:
    shown = []
    for column in raw[:limit]:
        name = column.strip()[:40]
        shown.append(f"'{name}'" if name.isprintable() and name else repr(name))
    more = f", and {len(raw) - limit} more" if len(raw) > limit else ""
    return ", ".join(shown) + more if shown else "none"


def map_columns(raw: list[str], mapping: Mapping[str, str | None] | None) -> Columns:
    """Each field's column in `raw`, or ImportFailed (`needs_mapping`) naming what is wrong."""
    header = [column.strip() for column in raw]
    normal = [normal_name(column) for column in raw]
    positions: dict[str, int] = {}
    taken: set[int] = set()
    for column, field in (mapping or {}).items():
        index = _find(column, header, normal)
        if index is None:
            raise _unmapped(raw, f"the mapping names a column '{column}' the file lacks")
        taken.add(index)
        if field is not None:
            positions[field] = index
    guesses: dict[str, list[int]] = {}
    for index, name in enumerate(normal):
        field = _FIELD_OF_ALIAS.get(name)
        if index not in taken and field is not None and field not in positions:
            guesses.setdefault(field, []).append(index)
    for field, indexes in guesses.items():
        if len(indexes) > 1:
            both = " and ".join(f"'{header[i]}'" for i in indexes)
            raise _unmapped(raw, f"the columns {both} are both read as {field}")
        positions[field] = indexes[0]
    missing = [field for field in REQUIRED_FIELDS if field not in positions]
    if missing:
        names = " or ".join(f"'{field}'" for field in missing)
        raise _unmapped(raw, f"no column is read as {names}")
    return Columns(
        sku=positions["sku"],
        name=positions["name"],
        description=positions.get("description", -1),
        active=positions.get("active", -1),
        header=header,
    )


def _find(column: str, header: list[str], normal: list[str]) -> int | None:
    for names, wanted in ((header, column.strip()), (normal, normal_name(column))):
        if wanted in names:
            return names.index(wanted)
    return None


def _unmapped(raw: list[str], problem: str) -> ImportFailed:
    return ImportFailed(
        f"Line 1: {problem} (columns: {describe_columns(raw)}). Map the file's columns to "
        "sku and name (and optionally description and active), then import it again.",
        columns=[column.strip() for column in raw],
    )
