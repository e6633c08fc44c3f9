"""Generate a deterministic CSV of fake products shaped like the real 500,000-row catalog file.

The file has the header ``name,sku,description`` and reproduces the awkward parts of the real
export: SKUs repeated later in the file (about 1 in 10 of them differing only by letter case),
quoted fields with commas, double quotes and embedded newlines, and some non-ASCII text.
The default 500,000 rows give 466,693 distinct SKUs (case-insensitive) and about 86 MB.

Usage: ``python scripts/make_dataset.py OUTPUT_PATH [--rows N] [--seed S]``
"""

import argparse
import csv
import random
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REFERENCE_ROWS = 500_000
REFERENCE_DISTINCT_SKUS = 466_693
REPEAT_RATE = (REFERENCE_ROWS - REFERENCE_DISTINCT_SKUS) / REFERENCE_ROWS
CASE_ONLY_SHARE = 0.10  # share of repeated rows that differ only by letter case
COMMA_RATE = 0.10
QUOTE_RATE = 0.02
NEWLINE_RATE = 0.01
NON_ASCII_NAME_RATE = 1 / 200
NON_ASCII_DESCRIPTION_RATE = 1 / 200
GUARANTEE_MIN_ROWS = 100  # from this many rows on, every kind of awkward row appears at least once

MAX_NAME = 30
MAX_SKU = 19
MAX_DESCRIPTION = 199
DESCRIPTION_TARGET = (92, 199)  # soft length target range per description
SENTENCE_POOL_SIZE = 20_000
SENTENCE_WORDS = (4, 14)
MAX_SENTENCE = 90

# A few hundred short, common English words: SKUs, names and descriptions are built from them.
_WORDS_TEXT = """
    able act add age ago air all also arm art ask away baby back bad bag ball bank base bear
    beat bed best big bill bit black blue boat body book born both box boy break bring build
    buy call camera can car card care carry case cause cell chair check child choice city
    civil claim class clear close coach cold color come cost could court cover cup cut dark
    data day deal deep degree do door down draw dream drive drop during each early east easy
    eat edge effect eight end enjoy enough enter even event ever every exist eye face fact
    fail fall family far fast fear feel few field fight fill film final find fine fire firm
    first fish five floor fly focus food foot for force form four free friend from front
    full fund game garden gas get girl give glass go goal good great green ground group grow
    guess guy hair half hand hang happy hard have he head hear heart heat heavy help her
    here high him his hit hold home hope hot hotel hour house how huge human idea image in
    into issue it item its job join just keep key kid kind king know land large last late
    law lay lead learn least leave left leg less let level lie life light like line list
    little live local long look lose loss lot love low main major make man manage many mark
    market may me mean media meet member memory method middle might mind miss model modern
    moment money month more most mother mouth move movie much music must my name nation
    near need never new news next nice night no none nor north not note now number occur of
    off offer office often oil ok old on once one only open or order other our out over own
    page pain paper part party pass past pay peace people per pick piece place plan plant
    play point police poor power press price pull push put quite race radio raise range
    rate reach read ready real red rest rich right rise risk road rock role room rule run
    safe same save say scene school score sea season seat see seek sell send sense serve
    set seven shake share she shot show side sign simple since sing sister sit six size
    skill small smile so some son song soon sort sound south space speak spend sport staff
    stage stand star start state stay step still stock stop store story street strong study
    stuff style such sure table take talk task tax teach team tell ten term test than thank
    that the their them then there these they thing think this those three throw time to
    today too top total tough town trade travel tree trial trip true truth try turn tv two
    type under unit until up upon us use value very view visit voice vote wait walk wall
    want watch water way we wear week well west what when where which while white who whole
    why wide wife will win wind window wish with woman wonder word work world worry write
    wrong yard yeah year yes yet you young your
    """
_FIRST_NAMES_TEXT = """
    Bryce Emma Liam Olivia Noah Ava Mason Sophia Lucas Mia Ethan Chloe Logan Grace Owen Zoe
    Caleb Ruby Dylan Ivy Aaron Julia Tyler Nora Adam Leah Ryan Anna Kyle Sara Jack Lily Henry
    Ella Isaac Maya Evan Hannah Jason Laura Peter Diana Victor Helen Oscar Karen Felix Tina
    """
_LAST_NAMES_TEXT = """
    Jones Smith Brown Miller Davis Garcia Wilson Moore Taylor Clark Lewis Walker Hall Allen
    Young King Wright Scott Green Baker Adams Nelson Hill Ramirez Campbell Mitchell Roberts
    Carter Phillips Evans Turner Torres Parker Collins Edwards Stewart Morris Murphy Cook
    Rogers Reed Bailey Bell Cooper Howard Ward Cox Diaz Gray James Watson Brooks Kelly Sanders
    Price Bennett Wood Barnes Ross Henderson Coleman Jenkins Perry Powell Long Patterson
    """
_NON_ASCII_NAME_PARTS_TEXT = (
    "Café Crème Ærø Zürich 東京 大阪 Straße Señor Mañana Kraków São Ångström Noël Øresund "
    "Málaga Genève Über Piñata Jalapeño Crêpe Naïve Smörgås Île Fjäll Açaí"
)
_PRODUCT_NOUNS_TEXT = (
    "Mug Bag Jacket Lamp Chair Tee Cup Vase Set Kit Box Hat Scarf Bowl Clock Rug Crème"
)

WORDS: tuple[str, ...] = tuple(dict.fromkeys(_WORDS_TEXT.split()))
CAPITALISED_WORDS: tuple[str, ...] = tuple(word.capitalize() for word in WORDS)
FIRST_NAMES: tuple[str, ...] = tuple(_FIRST_NAMES_TEXT.split())
LAST_NAMES: tuple[str, ...] = tuple(_LAST_NAMES_TEXT.split())
NON_ASCII_NAME_PARTS: tuple[str, ...] = tuple(_NON_ASCII_NAME_PARTS_TEXT.split())
PRODUCT_NOUNS: tuple[str, ...] = tuple(_PRODUCT_NOUNS_TEXT.split())
NON_ASCII_SENTENCES: tuple[str, ...] = (
    "Inspired by café culture.",
    "Finished in a soft crème tone.",
    "Designed in Zürich \u2014 built to last.",
    "Now in a jalapeño edition.",
    "It\u2019s a customer favourite.",
    "Made for the piñata season.",
    "Über soft and easy to clean.",
    "A naïve charm for every room.",
    "Tested in Málaga \u2014 ready for sun.",
    "The façade finish won\u2019t fade.",
    "Perfect for a soirée at home.",
    "Crafted with señor style.",
)
SKU_WORD_COUNTS = (2, 3, 3, 3, 4, 4)
NAME_WORD_COUNTS = (1, 2, 3, 3, 4, 4)
PERSON_NAME_SHARE = 0.35

# Per-row flags planned up front, so every proportion is exact rather than merely expected.
_REPEAT = 1
_CASE_ONLY = 2
_COMMA = 4
_QUOTE = 8
_NEWLINE = 16
_NON_ASCII_NAME = 32
_NON_ASCII_DESCRIPTION = 64


@dataclass(frozen=True)
class DatasetStats:
    """What :func:`write_products_csv` wrote."""

    rows: int
    distinct_skus: int
    repeated_rows: int
    bytes: int


def _count(total: int, rate: float, guarantee: bool) -> int:
    """Scale ``rate`` to ``total`` items; at least one if ``guarantee`` and ``total`` allows."""
    count = round(total * rate)
    if guarantee and count == 0 and total > 0:
        count = 1
    return min(count, total)


def _repeat_count(rows: int) -> int:
    """How many rows repeat an earlier SKU (the first row never does)."""
    return _count(max(rows - 1, 0), REPEAT_RATE, rows >= GUARANTEE_MIN_ROWS)


def _plan(rows: int, rng: random.Random) -> bytearray:
    """Pick exactly which rows get which awkward feature."""
    flags = bytearray(rows)
    guarantee = rows >= GUARANTEE_MIN_ROWS
    repeats = rng.sample(range(1, rows), _repeat_count(rows))
    for index in repeats:
        flags[index] |= _REPEAT
    for index in rng.sample(repeats, _count(len(repeats), CASE_ONLY_SHARE, guarantee)):
        flags[index] |= _CASE_ONLY
    for flag, rate in (
        (_COMMA, COMMA_RATE),
        (_QUOTE, QUOTE_RATE),
        (_NEWLINE, NEWLINE_RATE),
        (_NON_ASCII_NAME, NON_ASCII_NAME_RATE),
        (_NON_ASCII_DESCRIPTION, NON_ASCII_DESCRIPTION_RATE),
    ):
        for index in rng.sample(range(rows), _count(rows, rate, guarantee)):
            flags[index] |= flag
    return flags


def _sentence_pool(rng: random.Random) -> list[str]:
    """Comma- and quote-free sentences of 4 to 14 words, sorted by length (shortest first)."""
    pool: list[str] = []
    low, high = SENTENCE_WORDS
    while len(pool) < SENTENCE_POOL_SIZE:
        text = " ".join(rng.choices(WORDS, k=rng.randint(low, high)))
        if len(text) < MAX_SENTENCE:
            pool.append(text[0].upper() + text[1:] + ".")
    pool.sort(key=len)
    return pool


def _case_variant(sku: str, style: int) -> str:
    """Same SKU, different letter case: "Lay-Raise-Best-End", "LAY-RAISE-BEST-END", ..."""
    if style == 0:
        return sku.title()
    if style == 1:
        return sku.upper()
    return sku.capitalize()


def iter_products(rows: int, seed: int) -> Iterator[tuple[str, str, str]]:
    """Yield ``rows`` deterministic ``(name, sku, description)`` tuples (no header)."""
    rng = random.Random(seed)
    flags = _plan(rows, rng)
    pool = _sentence_pool(rng)
    shortest = len(pool[0])
    # fits[n] = how many pool sentences are at most n characters long (pool is sorted by length).
    fits = [0] * (MAX_DESCRIPTION + 1)
    for sentence in pool:
        fits[len(sentence)] += 1
    for size in range(1, MAX_DESCRIPTION + 1):
        fits[size] += fits[size - 1]
    pool_size = len(pool)
    rand = rng.random  # indexing with int(rand() * n) is much faster than choice()/randrange()
    words, n_words = WORDS, len(WORDS)
    short_words = tuple(word for word in WORDS if len(word) <= (MAX_SKU - 3) // 4)
    n_short = len(short_words)
    capitalised, n_capitalised = CAPITALISED_WORDS, len(CAPITALISED_WORDS)
    n_sku_counts, n_name_counts = len(SKU_WORD_COUNTS), len(NAME_WORD_COUNTS)
    target_low, target_high = DESCRIPTION_TARGET
    target_span = target_high - target_low + 1
    used: set[str] = set()
    distinct: list[str] = []

    for flag in flags:
        # SKU: a new lower-case one, or a repeat of any earlier SKU (maybe in another case).
        if flag & _REPEAT:
            sku = distinct[int(rand() * len(distinct))]
            if flag & _CASE_ONLY:
                sku = _case_variant(sku, int(rand() * 3))
        else:
            while True:
                count = SKU_WORD_COUNTS[int(rand() * n_sku_counts)]
                sku = words[int(rand() * n_words)] + "-" + words[int(rand() * n_words)]
                if count == 3:
                    sku += "-" + words[int(rand() * n_words)]
                elif count == 4:  # four words of at most four letters always fit in MAX_SKU
                    sku = (
                        short_words[int(rand() * n_short)]
                        + "-"
                        + short_words[int(rand() * n_short)]
                        + "-"
                        + short_words[int(rand() * n_short)]
                        + "-"
                        + short_words[int(rand() * n_short)]
                    )
                if len(sku) <= MAX_SKU and sku not in used:
                    break
            used.add(sku)
            distinct.append(sku)

        # Name: a person-like name or 1 to 4 capitalised words, occasionally non-ASCII.
        if flag & _NON_ASCII_NAME:
            name = (
                NON_ASCII_NAME_PARTS[int(rand() * len(NON_ASCII_NAME_PARTS))]
                + " "
                + PRODUCT_NOUNS[int(rand() * len(PRODUCT_NOUNS))]
            )
        elif rand() < PERSON_NAME_SHARE:
            name = (
                FIRST_NAMES[int(rand() * len(FIRST_NAMES))]
                + " "
                + LAST_NAMES[int(rand() * len(LAST_NAMES))]
            )
        else:
            while True:
                count = NAME_WORD_COUNTS[int(rand() * n_name_counts)]
                name = " ".join([capitalised[int(rand() * n_capitalised)] for _ in range(count)])
                if len(name) <= MAX_NAME:
                    break

        # Description: whole sentences up to a soft target, never above MAX_DESCRIPTION.
        extra = ""
        reserve = 0
        if flag & _NON_ASCII_DESCRIPTION:
            extra = NON_ASCII_SENTENCES[int(rand() * len(NON_ASCII_SENTENCES))]
            reserve = len(extra) + 1
        if flag & _COMMA:
            reserve += 1
        if flag & _QUOTE:
            reserve += 2
        limit = MAX_DESCRIPTION - reserve
        target = min(target_low + int(rand() * target_span), limit)
        first = pool[int(rand() * pool_size)]
        parts = [first]
        length = len(first)
        room = target - length - 1
        if flag & _NEWLINE and room < shortest:  # a newline needs a second sentence
            room = limit - length - 1
        while room >= shortest:
            sentence = pool[int(rand() * fits[room])]
            parts.append(sentence)
            length += 1 + len(sentence)
            room = target - length - 1
        if flag & (_COMMA | _QUOTE):
            index = int(rand() * len(parts))
            sentence_words = parts[index].split(" ")
            if flag & _QUOTE:
                position = 1 + int(rand() * (len(sentence_words) - 2))
                sentence_words[position] = '"' + sentence_words[position] + '"'
            if flag & _COMMA:
                position = 1 + int(rand() * (len(sentence_words) - 2))
                sentence_words[position] += ","
            parts[index] = " ".join(sentence_words)
        # A newline row always has at least two sentences; the newline goes after the first.
        description = parts[0] + "\n" + " ".join(parts[1:]) if flag & _NEWLINE else " ".join(parts)
        if extra:
            description += " " + extra

        yield name, sku, description


def write_products_csv(path: Path, rows: int, seed: int = 42) -> DatasetStats:
    """Write ``rows`` products to ``path`` as UTF-8 CSV with a header; create parent dirs."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="", buffering=1 << 20) as handle:
        writer = csv.writer(handle)
        writer.writerow(("name", "sku", "description"))
        writer.writerows(iter_products(rows, seed))
    repeated = _repeat_count(rows)  # exact by construction: every other row has a new SKU
    return DatasetStats(
        rows=rows,
        distinct_skus=rows - repeated,
        repeated_rows=repeated,
        bytes=path.stat().st_size,
    )


def _non_negative(value: str) -> int:
    """Argparse type for ``--rows``."""
    number = int(value)
    if number < 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return number


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("output", type=Path, help="CSV file to write")
    parser.add_argument("--rows", type=_non_negative, default=REFERENCE_ROWS)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)

    started = time.perf_counter()
    stats = write_products_csv(args.output, args.rows, args.seed)
    elapsed = time.perf_counter() - started
    print(
        f"{args.output}: {stats.rows} rows, {stats.distinct_skus} distinct SKUs "
        f"(case-insensitive), {stats.bytes / 1_000_000:.1f} MB, {elapsed:.2f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
