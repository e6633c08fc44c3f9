"""The malformed-input corpus: every file of corpus/ (its README says what each one attacks)
uploaded over HTTP to the live web server, imported by the live worker, and its outcome asserted
from one table, CASES.

One run per module uploads the files one after another and waits for each job (tenths of a
second each), so that what each file did is exact: the upload's answer, the job's end, its error
report, what was left in MEDIA_ROOT, and the catalog before and after. Each test then checks one
case against that record. Files too big to commit are made in the test from a recipe.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from django.conf import settings
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token

from core.csv_safety import FORMULA_PREFIXES
from core.roles import ADMIN, assign_role
from jobs.models import Job
from jobs.uploads import SNIFF_BYTES
from products.models import Product
from products.tests.factories import make_product

from .helpers import wait_for, wait_until_worker_idle

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]

CORPUS = Path(__file__).resolve().parent / "corpus"
NOT_CASES = {"README.md", ".gitattributes"}
# The catalog every file meets. Some files that fail hold SEED-1, to show it left as it was; one
# file (updates-existing-any-case.csv) updates SEED-2; no other file names either.
SEED = {
    "SEED-1": ("Seed one", "kept", True),
    "SEED-2": ("Seed two", "kept", False),
}
SEED_ROW = b"SEED-1,Overwritten by a file that fails\n"

Stored = Mapping[str, tuple[str, str, bool]]  # SKU -> (name, description, active)


@dataclass(frozen=True)
class Case:
    """What one file must give.

    `upload`: the upload's HTTP status. `status`: the job's end (None: refused, no job).
    `message`: a fragment of the refusal (400) or of the job's error_message (FAILED).
    For a COMPLETED import: `counts` (created, updated, invalid, duplicate); `reasons`, the error
    report's rows as (line, a fragment of the reason); `fields`, the report's fields row by row
    where they matter; `stored`, every product the import created or changed, and nothing else.
    `sent_as`: the multipart file name if not the file's own, `shown_as` the job's file_name if
    not what was sent. `recipe`: the content, made here, for a file too big to commit.
    """

    file: str
    upload: int
    status: str | None
    message: str = ""
    counts: tuple[int, int, int, int] = (0, 0, 0, 0)
    reasons: tuple[tuple[int, str], ...] = ()
    fields: tuple[tuple[str, ...], ...] | None = None
    stored: Stored = field(default_factory=dict)
    sent_as: str | None = None
    shown_as: str | None = None
    recipe: Callable[[], bytes] | None = None


def refused(file: str, message: str, **kwargs: Any) -> Case:
    return Case(file, 400, None, message, **kwargs)


def failed(file: str, message: str, **kwargs: Any) -> Case:
    return Case(file, 202, "FAILED", message, **kwargs)


def imported(file: str, counts: tuple[int, int, int, int], stored: Stored, **kwargs: Any) -> Case:
    return Case(file, 202, "COMPLETED", counts=counts, stored=stored, **kwargs)


def new(*products: tuple[str, str, str]) -> Stored:
    """Products created active, with (sku, name, description)."""
    return {sku: (name, description, True) for sku, name, description in products}


def rows_past_the_sniff(prefix: str) -> tuple[int, bytes]:
    """Valid rows `prefix-00000,Product 0` up to past what the upload reads: (count, bytes)."""
    count = SNIFF_BYTES // len(f"{prefix}-00000,Product 0\n") + 1
    rows = b"".join(f"{prefix}-{n:05d},Product {n}\n".encode() for n in range(count))
    assert len(rows) > SNIFF_BYTES
    return count, rows


def field_over_the_limit() -> bytes:
    return b"sku,name,description\n" + SEED_ROW + b"LONGFIELD-1,Widget," + b"x" * 140_000 + b"\n"


def invalid_utf8_past_the_sniff() -> bytes:
    _, rows = rows_past_the_sniff("LATEUTF")
    return b"sku,name\n" + SEED_ROW + rows + b"LATEUTF-X,Caf\xe9\n"


LATE_NUL_ROWS, _ = rows_past_the_sniff("LATENUL")


def nul_byte_past_the_sniff() -> bytes:
    _, rows = rows_past_the_sniff("LATENUL")
    return b"sku,name\n" + rows + b"LATENUL-X,Gad\x00get\n"


def gzip_cut_past_the_sniff() -> bytes:
    """A .csv.gz whose first 64 KiB decompress and whose end is missing (hex digests compress
    about 2:1, so three quarters of it hold more than 64 KiB of CSV)."""
    rows = b"".join(
        b"GZLATE-%05d,%s\n" % (n, hashlib.sha256(b"%d" % n).hexdigest().encode())
        for n in range(4000)
    )
    compressed = gzip.compress(b"sku,name\n" + SEED_ROW + rows, mtime=0)
    return compressed[: len(compressed) * 3 // 4]


NOT_COLUMNS = "no column is read as 'sku' or 'name'"
MAP = (
    "Map the file's columns to sku and name (and optionally description and active), then "
    "import it again."
)
ACTIVE_HINT = "(use true/false, 1/0 or yes/no, or leave it empty)"

CASES = [
    # What the upload refuses at once: 400, no job, nothing stored.
    refused("empty.csv", "The file is empty."),
    refused("bom-only.csv", "The file is empty."),
    refused("catalog.txt", "'catalog.txt' is not a .csv or .csv.gz file."),
    refused("catalog.zip", "'catalog.zip' is not a .csv or .csv.gz file."),
    refused("utf16-le-bom.csv", "The file is UTF-16 text, not UTF-8: save it as CSV UTF-8."),
    refused("utf16-be-bom.csv", "The file is UTF-16 text, not UTF-8: save it as CSV UTF-8."),
    refused(
        "latin1.csv",
        "Byte 21 (line 2) is not UTF-8 (0xE9): the file must be CSV text in UTF-8.",
    ),
    refused(
        "gzip-named-csv.csv",
        "The file is compressed with gzip: name it .csv.gz, or upload the CSV itself.",
    ),
    refused("png-named-csv.csv", "The file is a PNG image, not CSV text: upload a CSV."),
    refused(
        "zip-named-csv.csv",
        "The file is a ZIP archive (an .xlsx workbook is one): export the sheet as CSV UTF-8.",
    ),
    refused(
        "truncated.csv.gz",
        "'truncated.csv.gz' is not a valid gzip file: Compressed file ended before the "
        "end-of-stream marker was reached.",
    ),
    refused(
        "corrupt.csv.gz",
        "'corrupt.csv.gz' is not a valid gzip file: Error -3 while decompressing data",
    ),
    refused("bad-crc.csv.gz", "'bad-crc.csv.gz' is not a valid gzip file: CRC check failed"),
    refused(
        "plain-csv-named-gz.csv.gz",
        "'plain-csv-named-gz.csv.gz' is not compressed with gzip, though its name ends in .gz: "
        "name it .csv, or compress it.",
    ),
    # Django drops a multipart file whose name is "..", so the upload has no file.
    refused(
        "dot-dot-file-name.csv",
        "No file was submitted: send it as the multipart field 'file'.",
        sent_as="..",
    ),
    # Accepted, then the whole file fails: the catalog is as it was, the upload kept to retry.
    failed(
        "no-header.csv",
        f"Line 1: {NOT_COLUMNS} (columns: 'NOHDR-1', 'Widget', 'A widget'). {MAP}",
    ),
    failed(
        "missing-name-column.csv",
        f"Line 1: no column is read as 'name' (columns: 'sku', 'colour', 'description'). {MAP}",
    ),
    failed("wrong-columns.csv", f"Line 1: {NOT_COLUMNS} (columns: 'id', 'product', 'price')."),
    failed(
        "duplicated-header-column.csv",
        "Line 1: the columns 'sku' and 'sku' are both read as sku (columns: 'sku', 'name', 'sku')",
    ),
    failed(
        "semicolon-delimited.csv",
        "Line 1: only commas separate columns, and this line seems to use semicolons "
        "(columns: 'sku;name;description').",
    ),
    failed(
        "tab-delimited.csv",
        "Line 1: only commas separate columns, and this line seems to use tabs "
        "(columns: 'sku\\tname\\tdescription').",
    ),
    failed(
        "excel-sep-line.csv",
        "Line 1: a first line 'sep=...' is a hint for Excel (columns: 'sep=', ''): remove it, so "
        "that line 1 is the header.",
    ),
    failed(
        "thousands-of-columns-no-sku.csv",
        f"Line 1: {NOT_COLUMNS} (columns: 'col0', 'col1', 'col2', 'col3', 'col4', 'col5', 'col6', "
        "'col7', 'col8', 'col9', and 4990 more).",
    ),
    failed("html-page.csv", f"Line 1: {NOT_COLUMNS} (columns: '<!DOCTYPE html>')."),
    failed("json.csv", f"Line 1: {NOT_COLUMNS} (columns: '[')."),
    failed("blank-lines-only.csv", "Line 1 is empty: the first line must name the columns"),
    failed("leading-blank-line.csv", "Line 1 is empty: the first line must name the columns"),
    failed(
        "unterminated-quote.csv",
        "Line 3: a quoted field in the row starting here is never closed (the file ends inside",
    ),
    failed(
        "invalid-utf8-truncated-sequence.csv",
        "Byte 38 (line 3) is not UTF-8 (0xE2): the file must be CSV text in UTF-8.",
    ),
    failed(
        "invalid-utf8-past-the-sniff.csv",
        f"(line {rows_past_the_sniff('LATEUTF')[0] + 3:,}) is not UTF-8 (0xE9)",
        recipe=invalid_utf8_past_the_sniff,
    ),
    failed(
        "gzip-cut-past-the-sniff.csv.gz",
        "The file could not be read (Compressed file ended before the end-of-stream marker was "
        "reached); nothing was imported.",
        recipe=gzip_cut_past_the_sniff,
    ),
    # Imported: the good rows land, the bad ones are in the error report.
    imported("header-only.csv", (0, 0, 0, 0), {}),
    imported(
        "extra-columns.csv",
        (2, 0, 0, 0),
        new(("EXTRA-1", "Widget", "A widget"), ("EXTRA-2", "Gadget", "A gadget")),
    ),
    imported("duplicated-extra-column.csv", (1, 0, 0, 0), new(("DUPNOTE-1", "Widget", ""))),
    imported(
        "columns-reordered.csv",
        (2, 0, 0, 0),
        {
            "REORD-1": ("Reordered one", "Desc one", False),
            "REORD-2": ("Reordered two", "Desc two", True),
        },
    ),
    # Header names are trimmed and compared in any case; no other spelling is known (yet).
    imported(
        "header-spaces-and-case.csv",
        (2, 0, 0, 0),
        {"HDRCASE-1": ("Widget", "A widget", False), "HDRCASE-2": ("Gadget", "A gadget", True)},
    ),
    imported("quoted-header.csv", (1, 0, 0, 0), new(("QHDR-1", "Widget", 'A "quoted" word'))),
    imported(
        "utf8-bom.csv",
        (2, 0, 0, 0),
        new(("BOM-1", "Caf\u00e9 cr\u00e8me", ""), ("BOM-2", "\u00dcber", "")),
    ),
    imported(
        "crlf.csv",
        (2, 0, 1, 0),
        new(("CRLF-1", "Widget", "One"), ("CRLF-2", "Gadget", "Two")),
        reasons=((4, "empty sku"),),
    ),
    imported(
        "cr-only.csv",
        (2, 0, 1, 0),
        new(("CRONLY-1", "Widget", "One"), ("CRONLY-2", "Gadget", "Two")),
        reasons=((4, "empty sku"),),
    ),
    imported(
        "mixed-line-endings.csv",
        (3, 0, 1, 0),
        new(
            ("MIXED-1", "Widget", "One"),
            ("MIXED-2", "Gadget", "Two"),
            ("MIXED-3", "Gizmo", "Three"),
        ),
        reasons=((5, "empty sku"),),
    ),
    imported(
        "embedded-newlines.csv",
        (3, 0, 1, 0),
        new(
            ("NL-1", "Widget", "line one\nline two"),
            ("NL-2", "Gadget", "crlf one\r\ncrlf two\r\n"),
            ("NL-3", 'Gizmo, "deluxe"', "a quoted, comma"),
        ),
        # The line a record starts on, counting the line breaks inside quotes before it.
        reasons=((8, "empty sku"),),
        fields=(("", "Nameless", "after three\nmultiline records"),),
    ),
    imported(
        "quote-mid-field.csv",
        (2, 0, 1, 0),
        new(
            ("QMID-1", '12" ruler', "quote inside an unquoted field"), ("QMID-3", "Gadget", "fine")
        ),
        reasons=((3, "not valid CSV: ',' expected after '\"'"),),
    ),
    imported(
        "long-line.csv",
        (2, 0, 1, 0),
        new(("LONGLINE-1", "Widget", "x" * 24_000), ("LONGLINE-2", "Gadget", "short")),
        reasons=((3, "empty sku"),),
        fields=(("", "Nameless", "y" * 1_000),),  # a kept field is cut at 1,000 characters
    ),
    imported(
        "thousands-of-columns.csv",
        (2, 0, 1, 0),
        new(("WIDE-1", "Widget", ""), ("WIDE-2", "Gadget", "")),
        reasons=((4, "expected 4000 fields, found 3999"),),
        fields=(("WIDE-3", "One field short", *["v"] * 18),),  # at most 20 fields kept
    ),
    imported(
        "trailing-delimiter.csv",
        (2, 0, 0, 0),
        new(("TRAIL-1", "Widget", ""), ("TRAIL-2", "Gadget", "")),
    ),
    imported(
        "trailing-delimiter-rows-only.csv",
        (0, 0, 2, 0),
        {},
        reasons=((2, "expected 2 fields, found 3"), (3, "expected 2 fields, found 3")),
    ),
    imported(
        "fewer-fields.csv",
        (1, 0, 1, 0),
        new(("FEWER-2", "Gadget", "Fine")),
        reasons=((2, "expected 3 fields, found 2"),),
    ),
    imported(
        "more-fields.csv",
        (1, 0, 1, 0),
        new(("MORE-2", "Gadget", "Fine")),
        reasons=((2, "expected 3 fields, found 4"),),
        fields=(("MORE-1", "Widget", "One", "Surplus"),),
    ),
    imported(
        "sku-empty.csv",
        (1, 0, 1, 0),
        new(("SKUEMPTY-1", "Widget", "")),
        reasons=((2, "empty sku"),),
    ),
    imported(
        "sku-whitespace-only.csv",
        (1, 0, 1, 0),
        new(("SKUBLANK-1", "Widget", "")),
        reasons=((2, "empty sku"),),
    ),
    imported(
        "sku-zero-width.csv",
        (1, 0, 1, 0),
        new(("SKUZW-1", "Widget", "")),
        reasons=((2, "sku holds a character that cannot be seen or printed (U+200B ZERO WIDTH"),),
    ),
    # Spaces and tabs around a SKU are trimmed; inside it, a control character is refused.
    imported(
        "sku-control-chars.csv",
        (1, 0, 2, 0),
        new(("SKUCTL-3", "Tab and space around", "")),
        reasons=(
            (2, "sku holds a character that cannot be seen or printed (U+0007)"),
            (3, "sku holds a character that cannot be seen or printed (U+001B)"),
        ),
    ),
    imported(
        "sku-too-long.csv",
        (1, 0, 1, 0),
        new(("L" * 255, "Just fits", "")),
        reasons=((2, "sku is longer than 255 characters (256)"),),
    ),
    imported(
        "sku-expands-when-normalized.csv",
        (1, 0, 1, 0),
        new(("SKUNFKC-1", "Widget", "")),
        reasons=((2, "sku is too long once normalized (3,300 bytes of UTF-8 for its key"),),
    ),
    # Letters of other scripts that look alike are other SKUs: only Unicode's own equivalences
    # (NFKC, case folding) make two spellings one.
    imported(
        "sku-lookalikes.csv",
        (2, 0, 0, 0),
        new(
            ("\u0405KU-CYRILLIC", "Cyrillic capital DZE looks like S", ""),
            ("SKU-CYRILLIC", "Latin", ""),
        ),
    ),
    imported(
        "name-empty.csv",
        (1, 0, 2, 0),
        new(("NAMEEMPTY-3", "Widget", "")),
        reasons=((2, "empty name"), (3, "empty name")),
    ),
    imported(
        "name-too-long.csv",
        (1, 0, 1, 0),
        new(("NAMELONG-2", "n" * 255, "")),
        reasons=((2, "name is longer than 255 characters (256)"),),
    ),
    imported(
        "active-values.csv",
        (8, 0, 2, 0),
        {
            "ACT-1": ("Yes", "", True),
            "ACT-2": ("No", "", False),
            "ACT-3": ("One", "", True),
            "ACT-4": ("Zero", "", False),
            "ACT-5": ("True", "", True),
            "ACT-6": ("False", "", False),
            "ACT-7": ("Padded", "", True),
            "ACT-8": ("Empty", "", True),
        },
        reasons=(
            (10, f"invalid active value 'maybe' {ACTIVE_HINT}"),
            (11, f"invalid active value 'y' {ACTIVE_HINT}"),
        ),
    ),
    # One SKU in several spellings: the last row wins, the others count as duplicates.
    imported(
        "duplicate-skus-unicode.csv",
        (6, 0, 0, 6),
        new(
            ("DUP-CASE", "Upper wins", ""),
            ("DUP-STRASSE", "Double s wins", ""),
            ("DUP-CAFE\u0301", "NFD wins", ""),
            ("dup-i\u0307", "i with combining dot wins", ""),
            ("DUP-1", "ASCII wins", ""),
            ("DUP-TRIM", "Trimmed wins", ""),
        ),
    ),
    imported("many-rows-one-sku.csv", (1, 0, 0, 1999), new(("many-1", "Version 2000", ""))),
    imported(
        "updates-existing-any-case.csv",
        (0, 1, 0, 0),
        # The file's spelling and description; `active` kept, as the file has no such column.
        {"seed-2": ("Renamed by a lower-case SKU", "updated", False)},
    ),
    # Formulas are data: stored as given, written escaped in the error report.
    imported(
        "formula-cells.csv",
        (2, 0, 3, 0),
        new(
            ("=1+2", "@SUM(A1)", "+cmd|' /C calc'!A0"),
            ("+FORMULA-2", "-2+3", '=HYPERLINK("http://127.0.0.1")'),
        ),
        reasons=((4, "empty name"), (5, "empty name"), (6, "empty name")),
        fields=(("'=REFUSED()", "", "'=1+2"), ("'@REFUSED", "", ""), ("'+REFUSED", "", "'\t=cmd")),
    ),
    imported(
        "every-row-invalid.csv",
        (0, 0, 4, 0),
        {},
        reasons=(
            (2, "empty sku"),
            (3, "empty name"),
            (4, f"invalid active value 'perhaps' {ACTIVE_HINT}"),
            (5, f"invalid active value 'maybe' {ACTIVE_HINT}"),
        ),
    ),
    imported(
        "valid.csv.gz",
        (2, 0, 0, 0),
        new(("GZ-1", "Widget", "Compressed"), ("GZ-2", "Gadget", "Compressed")),
    ),
    # The user's file name is only shown (as Django cleans it), never a path.
    imported(
        "path-traversal.csv",
        (1, 0, 0, 0),
        new(("TRAVERSAL-1", "Widget", "")),
        sent_as="../../etc/passwd.csv",
        shown_as="passwd.csv",
    ),
    imported(
        "control-chars-in-file-name.csv",
        (1, 0, 0, 0),
        new(("FNAME-1", "Widget", "")),
        sent_as="cat\u00e9\x07\x1b[31m\u202egol.csv",
        shown_as="cat\u00e9[31mgol.csv",
    ),
    imported(
        "long-file-name.csv",
        (1, 0, 0, 0),
        new(("LONGNAME-1", "Widget", "")),
        sent_as="n" * 300 + ".csv",
        shown_as="n" * 251 + ".csv",
    ),
    # A NUL byte or a field over the csv module's limit is a bad row, wherever it is.
    imported(
        "nul-byte.csv",
        (1, 0, 1, 0),
        new(("NUL-1", "Widget", "")),
        reasons=((3, "a NUL byte in a field"),),
        fields=(("NUL-2", "Gad\x00get"),),
    ),
    imported(
        "long-field-over-limit.csv",
        (0, 0, 2, 0),
        {},
        reasons=(
            (2, "expected 3 fields, found 2"),
            (3, "a field is longer than 131,072 characters (a quote left open?)"),
        ),
        recipe=field_over_the_limit,
    ),
    imported(
        "nul-byte-past-the-sniff.csv",
        (LATE_NUL_ROWS, 0, 1, 0),
        new(*((f"LATENUL-{n:05d}", f"Product {n}", "") for n in range(LATE_NUL_ROWS))),
        reasons=((LATE_NUL_ROWS + 2, "a NUL byte in a field"),),
        fields=(("LATENUL-X", "Gad\x00get"),),
        recipe=nul_byte_past_the_sniff,
    ),
]


@dataclass
class Outcome:
    """What one file did, recorded by `corpus_run`."""

    upload_status: int
    upload_body: Any
    job: dict[str, Any] | None = None
    report_status: int | None = None  # of errors.csv, asked for whether the job has one or not
    report: list[list[str]] | None = None
    new_files: list[str] = field(default_factory=list)
    jobs_added: int = 0
    before: dict[str, tuple[str, str, bool]] = field(default_factory=dict)
    after: dict[str, tuple[str, str, bool]] = field(default_factory=dict)
    server_errors: list[str] = field(default_factory=list)


def content_of(case: Case) -> bytes:
    return case.recipe() if case.recipe else (CORPUS / case.file).read_bytes()


def multipart(filename: str, content: bytes) -> tuple[bytes, str]:
    """The body and content type of a multipart upload, built by hand so that the file name
    reaches the server as given (HTTP clients escape some of what this corpus sends)."""
    boundary = f"corpus-{secrets.token_hex(8)}"
    head = (
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    body = head + content + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def catalog() -> dict[str, tuple[str, str, bool]]:
    products = Product.objects.values_list("sku", "name", "description", "active")
    return {sku: (name, description, active) for sku, name, description, active in products}


def media_files() -> set[str]:
    root = Path(settings.MEDIA_ROOT)
    return {path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file()}


def run_case(session: requests.Session, base: str, case: Case) -> Outcome:
    """Upload the case's file and follow its job to the end; errors.csv fetched either way."""
    server_errors: list[str] = []

    def note_server_errors(response: requests.Response, **_: object) -> None:
        if response.status_code >= 500:
            server_errors.append(f"{response.status_code} {response.request.method} {response.url}")

    session.hooks["response"] = [note_server_errors]
    before, files, jobs = catalog(), media_files(), Job.objects.count()
    body, content_type = multipart(case.sent_as or case.file, content_of(case))
    response = session.post(
        f"{base}/api/products/upload/", data=body, headers={"Content-Type": content_type}
    )
    outcome = Outcome(response.status_code, json_or_text(response))
    if response.status_code == 202:
        job = outcome.job = wait_for(session, outcome.upload_body)
        report = session.get(f"{base}/api/jobs/{job['id']}/errors.csv")
        outcome.report_status = report.status_code
        if report.status_code == 200:
            outcome.report = list(csv.reader(io.StringIO(report.content.decode())))
    outcome.new_files = sorted(media_files() - files)
    outcome.jobs_added = Job.objects.count() - jobs
    outcome.before, outcome.after = before, catalog()
    outcome.server_errors = server_errors
    return outcome


def json_or_text(response: requests.Response) -> Any:
    """The answer's JSON; its text if it has none (a 5xx page), for the test to show."""
    try:
        return response.json()
    except ValueError:
        return response.text


@pytest.fixture(scope="module")
def corpus_run(
    celery_worker: None, live_server_url: str, django_db_blocker: Any
) -> dict[str, Outcome]:
    """Every case run through the live server and worker, in turn, on the SEED catalog.

    Module-scoped, so the run happens once; its rows are flushed after the first test, as
    every transactional test's are.
    """
    with django_db_blocker.unblock():
        user = User.objects.create_user(username="corpus")
        assign_role(user, ADMIN)
        session = requests.Session()
        session.headers["Authorization"] = f"Token {Token.objects.create(user=user).key}"
        for sku, (name, description, active) in SEED.items():
            make_product(sku=sku, name=name, description=description, active=active)
        outcomes = {case.file: run_case(session, live_server_url, case) for case in CASES}
        wait_until_worker_idle()
    return outcomes


def test_every_file_has_a_case_and_every_case_a_file_and_a_line_in_the_readme():
    files = {path.name for path in CORPUS.iterdir()} - NOT_CASES
    cases = [case.file for case in CASES]
    assert len(cases) == len(set(cases)), "a file has two cases"
    assert files == {case.file for case in CASES if case.recipe is None}
    assert not files & {case.file for case in CASES if case.recipe}
    assert len(files) >= 40
    readme = (CORPUS / "README.md").read_text()
    assert [name for name in cases if f"| `{name}` |" not in readme] == []
    assert all(len((CORPUS / name).read_bytes()) < 50_000 for name in files)


@pytest.mark.parametrize("case", CASES, ids=[case.file for case in CASES])
def test_corpus_file(case: Case, corpus_run: dict[str, Outcome]) -> None:
    outcome = corpus_run[case.file]
    assert outcome.server_errors == []
    assert outcome.upload_status == case.upload, outcome.upload_body
    if case.status is None:
        assert_refused(case, outcome)
        return
    job = outcome.job
    assert job is not None
    assert job["status"] == case.status, job
    assert job["file_name"] == (case.shown_as or case.sent_as or case.file)
    assert outcome.jobs_added == 1
    if case.status == "FAILED":
        assert_failed(case, outcome, job)
    else:
        assert_imported(case, outcome, job)


def assert_refused(case: Case, outcome: Outcome) -> None:
    """A 400 that says why, and nothing left: no job, no stored file, the catalog as it was."""
    assert outcome.upload_body == {"file": [outcome.upload_body["file"][0]]}
    assert case.message in outcome.upload_body["file"][0]
    assert outcome.jobs_added == 0
    assert outcome.new_files == []
    assert outcome.after == outcome.before


def assert_failed(case: Case, outcome: Outcome, job: dict[str, Any]) -> None:
    """The job says why; the catalog is exactly as it was; the upload is kept for a retry."""
    assert case.message in job["error_message"]
    assert outcome.after == outcome.before
    counts = [job[f"{kind}_count"] for kind in ("created", "updated", "invalid", "duplicate")]
    assert counts == [0, 0, 0, 0]
    assert job["errors_url"] is None
    assert outcome.report_status == 404
    suffix = ".csv.gz" if case.file.endswith(".gz") else ".csv"
    assert outcome.new_files == [f"uploads/{job['id']}{suffix}"]


def assert_imported(case: Case, outcome: Outcome, job: dict[str, Any]) -> None:
    """Exact counts; exactly the expected products created or changed; the upload removed; the
    error report (when rows were refused) has each refused row, formula cells escaped."""
    counts = tuple(job[f"{kind}_count"] for kind in ("created", "updated", "invalid", "duplicate"))
    assert counts == case.counts
    created, _, invalid, _ = case.counts
    assert job["total_rows"] == sum(case.counts)
    assert job["error_message"] == ""
    changed = {
        sku: values for sku, values in outcome.after.items() if outcome.before.get(sku) != values
    }
    assert changed == case.stored
    assert len(outcome.after) - len(outcome.before) == created
    assert outcome.new_files == ([f"errors/{job['id']}.csv"] if invalid else [])
    if not invalid:
        assert job["errors_url"] is None
        assert outcome.report_status == 404
        return
    assert job["errors_url"].endswith(f"/api/jobs/{job['id']}/errors.csv")
    assert outcome.report_status == 200
    report = outcome.report
    assert report is not None
    assert report[0] == ["line", "reason", "fields"]
    rows = report[1:]
    assert len(rows) == invalid
    assert [int(row[0]) for row in rows] == [line for line, _ in case.reasons]
    for row, (_, reason) in zip(rows, case.reasons, strict=True):
        assert reason in row[1]
    if case.fields is not None:
        assert [tuple(row[2:]) for row in rows] == list(case.fields)
    assert [cell for row in rows for cell in row if cell.startswith(FORMULA_PREFIXES)] == []
