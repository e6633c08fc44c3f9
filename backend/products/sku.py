"""A SKU's identity: when two spellings are one SKU, and what a SKU may not hold.

The key is PostgreSQL's: one SQL function, `products_sku_key(sku)`, created by migration 0005
(which holds its SQL; a change to the key is a new migration that recomputes the keys):

    normalize(casefold(btrim(normalize(sku, NFKC)) COLLATE pg_unicode_fast), NFKC)

- NFKC, not NFC: besides the canonical forms (NFD "CAFÉ" from a Mac's spreadsheet, the angstrom
  sign), it folds compatibility forms (full-width letters, the "ﬁ" ligature, "²"), which in an
  identifier typed or pasted by people mean the plain letters. NFC would keep those apart.
- Full Unicode case folding (`casefold()`, PostgreSQL 18) under the builtin `pg_unicode_fast`
  collation, so neither the database's locale nor the system's libc or ICU decides the key:
  "ß" / "SS", final "ς" / "Σ", "İ" / "i̇" fall together as in Python's `str.casefold()`.
  Folding can undo NFKC (26 characters, "ǰ" and Greek letters with marks, fold to a letter and a
  combining mark), hence the second normalization.
- Spaces trimmed, after the normalization, so that the spaces NFKC makes of the others (no-break,
  full-width) go too.
- An ASCII SKU takes a shortcut to the same key, `lower(btrim(sku) COLLATE "C")`: NFKC leaves
  ASCII as it is and folding it is lowering A-Z, so the usual SKU costs about what `lower()`
  did (docs/benchmarks.md).

The catalog's unique `sku_key` is generated from it, the import's staging table computes it
row by row, and the API's duplicate check and `?sku=` filter call it (`SkuKey`): one definition,
enforced by the database, inlined by the planner wherever it is called. Servers older than 18
have no `casefold()`: migration 0005 refuses them.

`python_key` is the same steps in Python (tested against the database, character by character),
used only to refuse a SKU whose key would not fit in the unique index.

A SKU is invalid if it holds a character of `FORBIDDEN_CATEGORIES`: you cannot see them, so a
SKU with one would be a second SKU that looks like the first ("ZW1" and "Z<U+200B>W1").
"""

import unicodedata
from typing import Final

from django.db.models import Func, TextField

KEY_FUNCTION: Final = "products_sku_key"
# The key's UTF-8 bytes at most: far below what a B-tree entry holds (about 2,700 bytes), and
# above any SKU of 255 characters that normalization does not lengthen (4 bytes each at most).
MAX_KEY_BYTES: Final = 1_024
# Controls (Cc: tab, line breaks, DEL, the C1 controls), format characters (Cf: soft hyphen,
# zero-width space, non-joiner and joiner, word joiner, byte order mark, the bidi marks,
# embeddings and isolates, tags), lone surrogates (Cs; DRF refuses them first), and the line and
# paragraph separators (Zl, Zp). Marks and letters that render as nothing (variation selectors,
# the combining grapheme joiner, Hangul fillers) are allowed: they belong to real text and emoji.
FORBIDDEN_CATEGORIES: Final = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_SHOWN_CHARACTERS: Final = 3


class SkuKey(Func):
    """`products_sku_key(expression)`: the SKU key, computed by the database."""

    function = KEY_FUNCTION
    output_field = TextField()


def python_key(sku: str) -> str:
    """The key as the database computes it, in Python (whose Unicode version may be older)."""
    folded = unicodedata.normalize("NFKC", sku).strip(" ").casefold()
    return unicodedata.normalize("NFKC", folded)


def forbidden_characters(sku: str) -> list[str]:
    """The characters of `sku` that make it invalid, each once, in order of appearance."""
    if sku.isprintable():  # none of them is printable: the usual SKU is done here
        return []
    found: dict[str, None] = {}
    for char in sku:
        if unicodedata.category(char) in FORBIDDEN_CATEGORIES:
            found[char] = None
    return list(found)


def describe_character(char: str) -> str:
    """`U+200B ZERO WIDTH SPACE`; controls have no name, only their number."""
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X} {name}" if name else f"U+{ord(char):04X}"


def sku_problem(sku: str) -> str | None:
    """What makes a trimmed SKU of at most 255 characters invalid, as the end of a sentence
    starting "the SKU", or None. Quick for an ASCII SKU."""
    forbidden = forbidden_characters(sku)
    if forbidden:
        shown = ", ".join(describe_character(char) for char in forbidden[:_SHOWN_CHARACTERS])
        more = (
            f" and {len(forbidden) - _SHOWN_CHARACTERS} more"
            if len(forbidden) > _SHOWN_CHARACTERS
            else ""
        )
        kind = "characters" if len(forbidden) > 1 else "a character"
        return f"holds {kind} that cannot be seen or printed ({shown}{more})"
    if not sku.isascii():
        size = len(python_key(sku).encode())
        if size > MAX_KEY_BYTES:
            return (
                f"is too long once normalized ({size:,} bytes of UTF-8 for its key, "
                f"at most {MAX_KEY_BYTES:,})"
            )
    return None
