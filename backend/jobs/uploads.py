"""Checks on an uploaded catalog before it is stored: kind, emptiness, text or not."""

from __future__ import annotations

import codecs
import gzip
import io
import zlib
from typing import Any, BinaryIO

from django.core.files.uploadedfile import UploadedFile
from rest_framework.exceptions import ValidationError

ACCEPTED_SUFFIXES = (".csv", ".csv.gz")
SNIFF_BYTES = 64 * 1024


def open_catalog(stream: BinaryIO, name: str) -> BinaryIO:
    """The file's CSV bytes, decompressed on the fly for `.csv.gz`."""
    if name.lower().endswith(".gz"):
        return gzip.GzipFile(fileobj=stream, mode="rb")  # type: ignore[return-value]
    return stream


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
    non-empty, decompress if it is gzip, and be UTF-8 text without NUL bytes.
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
    except (OSError, EOFError, zlib.error) as exc:
        raise ValidationError({"file": [f"'{name}' is not a valid gzip file: {exc}."]}) from exc
    finally:
        upload.seek(0)
    if not head:
        raise ValidationError({"file": ["The file is empty."]})
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError as exc:
        raise ValidationError(
            {"file": [f"The file is not UTF-8 text (byte {exc.start} is not UTF-8): upload a CSV."]}
        ) from exc
    if b"\x00" in head:
        raise ValidationError(
            {"file": ["The file is not text (it contains NUL bytes): upload a CSV."]}
        )
    return upload
