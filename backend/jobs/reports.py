"""A job's report (`Job.errors_file`): an import's refused rows, a revert's conflicts.

Written as CSV, every cell formula-safe as in the export (`core.csv_safety`), to a temporary
file first (however many rows, in as little memory as one), then stored in the default storage.
"""

import io
from collections.abc import Iterable, Sequence
from typing import IO

from django.core.files.base import File
from django.core.files.storage import default_storage

from core.csv_safety import SafeCsvWriter

from .models import Job


def write_report(
    into: IO[bytes], header: Sequence[str], rows: Iterable[Sequence[str | int]]
) -> int:
    """The header and the rows, as CSV, into `into`; how many rows."""
    text = io.TextIOWrapper(into, encoding="utf-8", newline="")
    writer = SafeCsvWriter(text)
    writer.writerow(header)
    count = 0
    for row in rows:
        writer.writerow(row)
        count += 1
    text.flush()
    text.detach()
    return count


def store_report(job: Job, written: IO[bytes]) -> str:
    """A report `write_report` wrote, stored as the job's; its name in the storage."""
    written.seek(0)
    return default_storage.save(f"errors/{job.pk}.csv", File(written, name="report.csv"))
