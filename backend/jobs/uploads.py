"""A stored catalog's CSV bytes, held to their limits; checks on an upload before it is stored:
kind, emptiness, text or not."""

from __future__ import annotations

import codecs
import gzip
import io
import zlib
from typing import Any, BinaryIO, Final, cast

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from rest_framework.exceptions import ValidationError

ACCEPTED_SUFFIXES = (".csv", ".csv.gz")
CONTROL_BYTES: Final = bytes(b for b in range(32) if b not in b"\t\r\n")
BINARY_SHARE: Final = 0.1
SNIFF_BYTES = 64 * 1024
# The compression ratio counts only past this much CSV: a small file (a header and a few rows
# alike) may compress very well, and costs nothing.
RATIO_CHECKED_FROM: Final = 1024**2
# What one read hands on at most, so that read() of everything still meets the limits in time.
READ_CHUNK: Final = 1024**2
# How the files people upload by mistake begin, and what to tell them instead of "byte 0 is not
# UTF-8". UTF-32 begins as UTF-16 does and is told the same.
NOT_CSV_SIGNATURES: Final = (
    (b"\x1f\x8b", "compressed with gzip: name it .csv.gz, or upload the CSV itself"),
    (b"PK\x03\x04", "a ZIP archive (an .xlsx workbook is one): export the sheet as CSV UTF-8"),
    (b"\xd0\xcf\x11\xe0", "an old Office file (an .xls workbook?): export the sheet as CSV UTF-8"),
    (b"\x89PNG", "a PNG image, not CSV text: upload a CSV"),
    (b"%PDF-", "a PDF document, not CSV text: upload a CSV"),
    (b"\xff\xfe", "UTF-16 text, not UTF-8: save it as CSV UTF-8"),
    (b"\xfe\xff", "UTF-16 text, not UTF-8: save it as CSV UTF-8"),
)


class CatalogTooLarge(Exception):
    """The catalog expands beyond MAX_IMPORT_BYTES, or a .csv.gz compresses more than
    MAX_GZIP_RATIO to 1; the message says which, for the job's error."""


def open_catalog(stream: BinaryIO, name: str) -> BinaryIO:
    """The file's CSV bytes, decompressed on the fly for `.csv.gz`, and limited: reading them
    raises CatalogTooLarge once more than MAX_IMPORT_BYTES came out, or (gzip) once more than
    MAX_GZIP_RATIO times the compressed bytes read so far did."""
    if name.lower().endswith(".gz"):
        compressed = _Counted(stream)
        decompressed = gzip.GzipFile(fileobj=cast(BinaryIO, compressed), mode="rb")
        return cast(BinaryIO, _Limited(cast(BinaryIO, decompressed), compressed))
    return cast(BinaryIO, _Limited(stream, None))


class _Counted(io.RawIOBase):
    """`stream`, counting the bytes read from it."""

    def __init__(self, stream: BinaryIO) -> None:
        super().__init__()
        self._stream = stream
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1, /) -> bytes:
        data = self._stream.read(size)
        self.bytes_read += len(data)
        return data


class _Limited(io.RawIOBase):
    """The CSV bytes of `source`, checked against the limits at each read."""

    def __init__(self, source: BinaryIO, compressed: _Counted | None) -> None:
        super().__init__()
        self._source = source
        self._compressed = compressed
        self._max_bytes: int = settings.MAX_IMPORT_BYTES
        self._max_ratio: int = settings.MAX_GZIP_RATIO
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1, /) -> bytes:
        if size < 0:
            return b"".join(iter(lambda: self.read(READ_CHUNK), b""))
        data = self._source.read(min(size, READ_CHUNK))
        self.bytes_read += len(data)
        if self.bytes_read > self._max_bytes:
            limit = _size(self._max_bytes)
            raise CatalogTooLarge(
                (
                    f"The file expands to more than {limit} of CSV"
                    if self._compressed is not None
                    else f"The file is larger than {limit}"
                )
                + ", the most one import takes (MAX_IMPORT_BYTES): split it into smaller files."
                " Nothing was imported."
            )
        if (
            self._compressed is not None
            and self.bytes_read > RATIO_CHECKED_FROM
            and self.bytes_read > self._max_ratio * self._compressed.bytes_read
        ):
            raise CatalogTooLarge(
                f"The file compresses more than {self._max_ratio}:1, which real catalogs do not "
                "(they compress 2 to 15 times, under 170 even when every row repeats one long "
                "description): it looks like a decompression bomb (MAX_GZIP_RATIO). Nothing "
                "was imported."
            )
        return data


def _size(n: int) -> str:
    for unit, scale in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if n >= scale and n % scale == 0:
            return f"{n // scale:,} {unit}"
    return f"{n:,} bytes"


def catalog_size(stream: BinaryIO, name: str) -> int | None:
    """How many bytes `open_catalog` will yield, for the parsing percent; None if unknown.

    For gzip that is the trailer's ISIZE: exact for one-member files under 4 GiB uncompressed
    (it counts modulo 2**32); beyond, the percent stops short until parsing ends.
    """
    if not stream.seekable():
        return None
    if name.lower().endswith(".gz"):
        stream.seek(-4, io.SEEK_END)
        size = int.from_bytes(stream.read(4), "little")
    else:
        size = stream.seek(0, io.SEEK_END)
    stream.seek(0)
    return size or None


def check_upload(upload: UploadedFile[Any] | None) -> UploadedFile[Any]:
    """The upload if it looks like a CSV file; a 400 with a clear message otherwise.

    Only the start of the file is read here (the rest is the engine's business): it must be
    non-empty (a UTF-8 BOM alone is empty), decompress if it is gzip, and be UTF-8 text, not
    mostly binary; a file of a kind people upload by mistake (gzip named .csv, ZIP or .xlsx, an
    image, UTF-16) is named in the message.
    """
    if upload is None:
        raise ValidationError(
            {"file": ["No file was submitted: send it as the multipart field 'file'."]}
        )
    name = upload.name or ""
    if not name.lower().endswith(ACCEPTED_SUFFIXES):
        raise ValidationError({"file": [f"'{name}' is not a .csv or .csv.gz file."]})
    if not upload.size:
        raise ValidationError({"file": ["The file is empty."]})
    upload.seek(0)
    try:
        head = open_catalog(upload, name).read(SNIFF_BYTES)  # type: ignore[arg-type]
    except gzip.BadGzipFile as exc:
        message = (
            f"'{name}' is not compressed with gzip, though its name ends in .gz: name it .csv, "
            "or compress it."
            if str(exc).startswith("Not a gzipped file")
            else f"'{name}' is not a valid gzip file: {exc}."
        )
        raise ValidationError({"file": [message]}) from exc
    except (OSError, EOFError, zlib.error) as exc:
        raise ValidationError({"file": [f"'{name}' is not a valid gzip file: {exc}."]}) from exc
    finally:
        upload.seek(0)
    if not head.removeprefix(codecs.BOM_UTF8):
        raise ValidationError({"file": ["The file is empty."]})
    for signature, what in NOT_CSV_SIGNATURES:
        if head.startswith(signature):
            raise ValidationError({"file": [f"The file is {what}."]})
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError as exc:
        raise ValidationError({"file": [_not_utf8(head, exc.start)]}) from exc
    if _mostly_binary(head):
        raise ValidationError(
            {"file": ["The file is not text (most of its first bytes are binary): upload a CSV."]}
        )
    return upload


def _mostly_binary(head: bytes) -> bool:
    """More than BINARY_SHARE of the bytes are NUL or other control bytes than tab, CR and LF:
    a binary file. A NUL byte here and there is a bad row, which the import reports."""
    binary = len(head) - len(head.translate(None, CONTROL_BYTES))
    return binary > BINARY_SHARE * len(head)


def _not_utf8(head: bytes, offset: int) -> str:
    """Where the first undecodable byte is, in the import's words for the same file (bytes and
    lines numbered from 1; CRLF, LF and CR each end a line)."""
    before = head[:offset]
    line = 1 + before.count(b"\n") + before.count(b"\r") - before.count(b"\r\n")
    bad = head[offset : offset + 1].hex().upper()
    return (
        f"Byte {offset + 1:,} (line {line:,}) is not UTF-8 (0x{bad}): the file must be CSV text "
        "in UTF-8."
    )
