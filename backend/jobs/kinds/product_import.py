"""The import job: a stored CSV file, through the engine, into the catalog.

Run: the engine reads the stored upload (or the command line's file) and upserts it in one
transaction, on the job's own connection, holding the catalog lock (`jobs.kinds.take_turns`),
keeping each written product's before-image for a revert (`jobs.kinds.revert`). Progress: the
engine's callback becomes the job's stage, rows and percent. Outcome: the counts, the per-row
error report (CSV) when rows were refused, the upload removed once it has been imported (a
failed or cancelled import keeps it for a retry), and the search upkeep queued for the products
the import changed. A lost connection to the database, or a cancel, propagates before the
commit (the turn fails or cancels the job), and an outage is waited out after it.
"""

import logging
import tempfile
import zlib
from collections.abc import Callable, Iterable
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO, cast

import psycopg
from django.conf import settings
from django.core.files.storage import default_storage
from django.utils import timezone

from products.services import queue_search_sync

from .. import lifecycle
from ..engine import ImportFailed, ImportResult, Progress, RowError, import_products
from ..models import Job
from ..options import engine_options
from ..reports import store_report, write_report
from ..running import stops_the_job
from ..undo import keeps_undo, summarize_changes, undo_deadline
from ..uploads import CatalogTooLarge, catalog_size, open_catalog
from . import outage

logger = logging.getLogger(__name__)

NO_ROWS_NOTE = "The file has a header and no rows: nothing to import."


def run(
    job: Job,
    conn: psycopg.Connection[tuple[Any, ...]],
    file: Path | None = None,
    progress: Callable[[Progress], None] = lambda progress: None,
) -> None:
    """Import the job's stored file, or `file` (the command line's); for a dry run, compare it
    with the catalog. The job ends COMPLETED with its counts, or FAILED; `progress` also gets
    the engine's progress. An import keeps its before-images unless UNDO_KEEP_DAYS is 0."""
    try:
        lifecycle.set_stage(job, "parsing")
        with file.open("rb") if file else default_storage.open(job.file, "rb") as opened:
            source = cast(BinaryIO, opened)
            name = file.name if file else job.file
            result = import_products(
                conn,
                open_catalog(source, name),
                size_bytes=catalog_size(source, name),
                progress=partial(report_progress, job, progress),
                options=engine_options(job.options),
                changes_of=job.pk if job.dry_run else None,
                before_images_of=job.pk if keeps_undo(job) else None,
            )
    except ImportFailed as exc:
        if exc.errors:
            save_error_report(job, exc.errors)
        failure: dict[str, Any] = {"invalid_count": exc.invalid_count}
        if exc.columns is not None:
            failure.update(needs_mapping=True, file_columns=exc.columns)
        lifecycle.finish(job, error=str(exc), **failure)
        return
    except CatalogTooLarge as exc:
        lifecycle.finish(job, error=str(exc))
        return
    except (OSError, EOFError, zlib.error) as exc:  # a .csv.gz that is corrupt or cut short
        lifecycle.finish(job, error=f"The file could not be read ({exc}); nothing was imported.")
        return
    except Exception as exc:
        if stops_the_job(exc):
            raise
        logger.exception("import job %s failed", job.pk)
        lifecycle.finish(job, error="The import failed unexpectedly; the catalog is unchanged.")
        return
    outage.record_despite_outage(partial(record_outcome, job, result))


def report_progress(job: Job, also: Callable[[Progress], None], progress: Progress) -> None:
    also(progress)
    lifecycle.set_stage(
        job,
        progress.stage,
        processed_rows=progress.processed_rows,
        total_rows=progress.total_rows,
        percent=progress.percent,
    )


def record_outcome(job: Job, result: ImportResult) -> None:
    """What a committed import leaves: its report, its counts, no upload, a search sync queued.
    A dry run keeps its upload, for an apply, until PREVIEW_KEEP_HOURS from now."""
    if result.errors:
        save_error_report(job, result.errors)
    extra: dict[str, Any] = {}
    if job.dry_run:
        extra["expires_at"] = timezone.now() + timedelta(hours=settings.PREVIEW_KEEP_HOURS)
    elif result.created_count + result.updated_count:
        extra["undo_until"] = undo_deadline()
    lifecycle.finish(
        job,
        note=NO_ROWS_NOTE if result.total_rows == 0 else "",
        total_rows=result.total_rows,
        processed_rows=result.total_rows,
        created_count=result.created_count,
        updated_count=result.updated_count,
        unchanged_count=result.unchanged_count,
        skipped_count=result.skipped_count,
        invalid_count=result.invalid_count,
        duplicate_count=result.duplicate_count,
        file_columns=result.columns,
        needs_mapping=False,
        written_at=result.written_at,
        **extra,
    )
    if not job.dry_run:
        discard_upload(job)
        queue_search_sync()
    recorded = result.updated_count if keeps_undo(job) else 0
    if job.dry_run:
        recorded = result.created_count + result.updated_count
    if recorded:
        summarize_changes()  # the job is COMPLETED already: its pages of changes, fast


def save_error_report(job: Job, errors: Iterable[RowError]) -> None:
    """The per-row error report: line, reason, then the row's original fields."""
    with tempfile.TemporaryFile() as spool:
        write_report(
            spool, ["line", "reason", "fields"], ([e.line, e.reason, *e.fields] for e in errors)
        )
        name = store_report(job, spool)
    Job.objects.filter(pk=job.pk).update(errors_file=name)


def discard_upload(job: Job) -> None:
    """An import that completed has no use for its upload any more (a failed one keeps it)."""
    if job.file:
        default_storage.delete(job.file)
        Job.objects.filter(pk=job.pk).update(file="")
