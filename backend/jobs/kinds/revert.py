"""The revert job: the catalog put back as it was before a completed import or bulk delete.

Run: in one transaction on the job's own connection, holding the catalog lock, from the job's
before-images (`jobs.undo`): an import's changes (the products it updated, as they were) and its
timestamp (the products it created), or a bulk delete's file of the products it deleted
(`products.restore`). It deletes the products that the import created and gives those it
updated their previous values back, or inserts the deleted products again, each as it was. A
product changed since (or, after a bulk delete, whose SKU was created again) is a conflict: left
as it is, unless the revert is forced (`options.force`). The same transaction marks the reverted
job as reverted (`reverted_by`), so that it is put back once. Progress: its stage (reverting),
chunk by chunk. Outcome: deleted, updated (given their previous values) and created (brought
back) counts, the conflicts counted and listed in the error report, and one `job.reverted` event.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable
from functools import partial
from typing import Any, BinaryIO, cast

import psycopg
from django.core.files.storage import default_storage

from products.bulk import leave_search_marks_to_a_rebuild, mark_whole_catalog
from products.restore import (
    Reverted,
    conflicts,
    plan_import_revert,
    restore_deleted_chunk,
    revert_import_chunk,
    stage_deleted_products,
)
from products.services import queue_search_sync

from .. import lifecycle
from ..engine.staging import CHANGE_TABLE
from ..models import Job
from ..reports import store_report, write_report
from ..running import stops_the_job
from . import outage

logger = logging.getLogger(__name__)

# Changes (or pages of deleted products) a chunk starts with; each chunk then aims at about a
# quarter of a second, so that progress moves and a cancel lands between chunks.
FIRST_CHUNK = 10_000
FIRST_PAGES = 100
CHUNK_SECONDS = 0.25
MARK_REVERTED_SQL = (
    f"UPDATE {Job._meta.db_table} SET reverted_by_id = %s"
    " WHERE id = %s AND reverted_by_id IS NULL RETURNING id"
)


class RevertRefused(Exception):
    """The job to revert cannot be put back: its words say why."""


def run(job: Job, conn: psycopg.Connection[tuple[Any, ...]]) -> None:
    """Revert the job that `job.reverts` names; the job ends COMPLETED with its counts, or
    FAILED with nothing changed. A lost connection or a cancel propagates (`jobs.kinds`)."""
    force = bool(job.options.get("force"))
    with tempfile.TemporaryFile() as report:
        try:
            lifecycle.set_stage(job, "reverting")
            target = Job.objects.filter(pk=job.reverts_id).first() if job.reverts_id else None
            if target is None:
                raise RevertRefused("The job to revert no longer exists; nothing was changed.")
            with conn.transaction(), conn.cursor() as cursor:
                if not _mark_reverted(cursor, job, target):
                    raise RevertRefused(f"Job {target.pk} was reverted already; nothing changed.")
                of_import = target.kind == Job.Kind.IMPORT
                revert = _revert_import if of_import else _revert_bulk_delete
                done, looked_at = revert(cursor, job, target, force)
                found = write_report(
                    report, ["sku", "reason", "action"], conflicts(cursor, of_import=of_import)
                )
                lifecycle.set_stage(job, "reverting", percent=100)  # a cancel still rolls back
        except RevertRefused as exc:
            lifecycle.finish(job, error=str(exc))
            return
        except Exception as exc:
            if stops_the_job(exc):
                raise
            logger.exception("revert job %s failed", job.pk)
            lifecycle.finish(job, error="The revert failed unexpectedly; nothing was changed.")
            return
        name = store_report(job, report) if found else ""
    outage.record_despite_outage(partial(_record_outcome, job, done, looked_at, name, found))


def _mark_reverted(cursor: psycopg.Cursor[Any], job: Job, target: Job) -> bool:
    cursor.execute(MARK_REVERTED_SQL, (job.pk, target.pk))
    return cursor.fetchone() is not None


def _revert_import(
    cursor: psycopg.Cursor[Any], job: Job, target: Job, force: bool
) -> tuple[Reverted, int]:
    """Put back the import's changes, chunk by chunk: what it updated in SKU order, then what it
    created; the counts and how many products it looked at."""
    total = target.created_count + target.updated_count
    lifecycle.set_stage(job, "reverting", total_rows=total, processed_rows=0, percent=0)
    last = plan_import_revert(
        cursor,
        CHANGE_TABLE,
        job_id=target.pk,
        updated=target.updated_count,
        written_at=target.written_at,
    )
    unmarked = leave_search_marks_to_a_rebuild(cursor, last)
    done = _in_chunks(
        job,
        last,
        FIRST_CHUNK,
        lambda after, end: revert_import_chunk(cursor, after, end, force=force),
    )
    if unmarked:
        mark_whole_catalog(cursor)
    return done, last


def _revert_bulk_delete(
    cursor: psycopg.Cursor[Any], job: Job, target: Job, force: bool
) -> tuple[Reverted, int]:
    """Insert the products the bulk delete kept again, a range of pages at a time."""
    total = target.deleted_count
    lifecycle.set_stage(job, "reverting", total_rows=total, processed_rows=0, percent=0)
    with default_storage.open(target.undo_file, "rb") as kept:
        pages = stage_deleted_products(cursor, cast(BinaryIO, kept))
    unmarked = leave_search_marks_to_a_rebuild(cursor, total)
    done = _in_chunks(
        job,
        pages,
        FIRST_PAGES,
        lambda first, end: restore_deleted_chunk(cursor, first, end, force=force),
        rows_per_step=total / pages if pages else 0,
    )
    if unmarked:
        mark_whole_catalog(cursor)
    return done, total


def _in_chunks(
    job: Job,
    steps: int,
    first: int,
    revert: Callable[[int, int], Reverted],
    rows_per_step: float = 1.0,
) -> Reverted:
    """Run `revert(start, end)` over [0, steps) in chunks of about CHUNK_SECONDS, recording
    progress (and so looking for a cancel) after each."""
    done = Reverted()
    start, size = 0, first
    while start < steps:
        end = min(steps, start + size)
        began = time.monotonic()
        done += revert(start, end)
        seconds = time.monotonic() - began
        size = max(first // 10, min(size * 4, round(size * CHUNK_SECONDS / max(seconds, 1e-3))))
        start = end
        lifecycle.set_stage(
            job,
            "reverting",
            processed_rows=round(end * rows_per_step),
            percent=min(99, 100 * end // steps),
        )
    return done


def _record_outcome(
    job: Job, done: Reverted, looked_at: int, report: str, conflict_count: int
) -> None:
    forced = bool(job.options.get("force"))
    note = ""
    if conflict_count:
        note = (
            f"{conflict_count:,} changed since were reverted anyway (forced)"
            if forced
            else f"{conflict_count:,} changed since were left as they are"
        )
    lifecycle.finish(
        job,
        note=note,
        total_rows=looked_at,
        processed_rows=looked_at,
        deleted_count=done.deleted,
        updated_count=done.restored,
        created_count=done.recreated,
        conflict_count=conflict_count,
        errors_file=report,
    )
    queue_search_sync()
