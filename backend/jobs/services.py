"""Creating, queueing and retrying jobs: what the endpoints call.

Services queue tasks (`jobs.tasks`, imported here at module level); the tasks never import this
module back: they run a job's kind (`jobs.kinds`), which records through `jobs.lifecycle`.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from celery import Task
from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError
from rest_framework.exceptions import APIException

from .lifecycle import UNFINISHED, finish, queued_stage, reopen
from .models import Job
from .options import DEFAULTS
from .tasks import TASKS, run_bulk_delete, run_import, run_revert
from .undo import REVERTED_KINDS, preview_expired, undo_kept
from .uploads import check_upload

logger = logging.getLogger(__name__)

RETRYABLE = [Job.Status.FAILED, Job.Status.CANCELLED]
# How long a cancel waits for the job's worker to stop it, and how often it looks.
CANCEL_WAIT = 2.5
CANCEL_LOOK = 0.1


class UploadTooLarge(APIException):
    status_code = 413
    default_code = "upload_too_large"


class BrokerUnavailable(APIException):
    status_code = 503
    default_detail = "The task queue is unavailable, so nothing was queued: try again shortly."
    default_code = "broker_unavailable"


def check_upload_size(content_length: int) -> None:
    """Refuse an upload over MAX_UPLOAD_BYTES before a byte of it is read."""
    if content_length > settings.MAX_UPLOAD_BYTES:
        raise UploadTooLarge(
            f"The upload is {content_length:,} bytes; the limit is {settings.MAX_UPLOAD_BYTES:,}."
        )


def create_import_job(
    *,
    upload: UploadedFile[Any] | None,
    created_by: User | None = None,
    options: dict[str, Any] | None = None,
    dry_run: bool = False,
) -> Job:
    """Check the upload, store it (streamed, never whole in memory) and queue its import, or
    its dry run, with `options` as applied (`jobs.options`)."""
    upload = check_upload(upload)
    name = upload.name or "upload.csv"
    job_id = uuid.uuid4()
    # Stored under the job's id: the user's file name is only shown, never used as a path.
    suffix = ".csv.gz" if name.lower().endswith(".gz") else ".csv"
    stored = default_storage.save(f"uploads/{job_id}{suffix}", upload)
    job = Job.objects.create(
        id=job_id,
        kind=Job.Kind.IMPORT,
        file=stored,
        file_name=name,
        **started_by(created_by),
        options=options or dict(DEFAULTS),
        dry_run=dry_run,
    )
    _enqueue(job, run_import)
    return job


class PreviewGone(APIException):
    status_code = 410
    default_code = "preview_expired"


class JobNotApplicable(APIException):
    status_code = 409
    default_code = "not_applicable"


def apply_preview(*, preview: Job, created_by: User | None = None) -> Job:
    """Queue the import of a completed dry run's file with its options: the new job takes the
    file over (a preview is applied once), and names the preview as its `source_job`."""
    if not (preview.dry_run and preview.status == Job.Status.COMPLETED):
        raise JobNotApplicable("Only a completed dry run (a preview) can be applied.")
    if preview_expired(preview):
        raise PreviewGone(_expired_words(preview))
    with transaction.atomic():
        locked = Job.objects.select_for_update().get(pk=preview.pk)
        applied = locked.applications.order_by("created_at").first()
        if applied is not None or not locked.file:
            where = f" as import {applied.pk}" if applied is not None else ""
            raise JobNotApplicable(f"This preview was applied already{where}.")
        job = Job.objects.create(
            kind=Job.Kind.IMPORT,
            file=locked.file,
            file_name=locked.file_name,
            **started_by(created_by),
            options=locked.options,
            source_job=locked,
        )
        Job.objects.filter(pk=locked.pk).update(file="")
    _enqueue(job, run_import, keep_file=True)  # a failed apply keeps it, for a retry
    return job


def _expired_words(preview: Job) -> str:
    hours = settings.PREVIEW_KEEP_HOURS
    return (
        f"This preview expired: its file and changes are kept for {hours} hours "
        "(PREVIEW_KEEP_HOURS). Upload the file again."
    )


def check_preview_kept(job: Job) -> None:
    """A 410 for a dry run past PREVIEW_KEEP_HOURS: its changes are gone, or about to be."""
    if preview_expired(job):
        raise PreviewGone(_expired_words(job))


def create_bulk_delete_job(*, created_by: User | None = None) -> Job:
    job = Job.objects.create(kind=Job.Kind.BULK_DELETE, **started_by(created_by))
    _enqueue(job, run_bulk_delete)
    return job


def started_by(user: User | None, name: str = "") -> dict[str, Any]:
    """A new job's fields for who starts it (the user, or a name: the command line's) and its
    stage: waiting if another job is ahead of it."""
    return {
        "created_by": user,
        "created_by_name": user.username if user else name,
        **queued_stage(),
    }


def _enqueue(job: Job, task: Task[[str], None], *, keep_file: bool = False) -> None:
    """Queue the job's task now; if the broker is down, the job ends FAILED and the caller 503."""
    try:
        task.apply_async(args=(str(job.pk),), retry=False)
    except (BrokerError, OSError) as exc:
        logger.warning("could not queue job %s: %s", job.pk, exc)
        finish(job, error="The task queue was unavailable; nothing was done.")
        if job.file and not keep_file:
            default_storage.delete(job.file)
        raise BrokerUnavailable from exc


class JobNotRetryable(APIException):
    status_code = 409
    default_code = "not_retryable"


def retry_job(*, job: Job, options: dict[str, Any] | None = None) -> Job:
    """Queue a FAILED or CANCELLED job again under the same id; an import from the file it
    stored, with `options` (as applied, `jobs.options`) instead of its own if given (a mapping
    for its header, say)."""
    if job.status not in RETRYABLE:
        raise JobNotRetryable(
            f"Only a failed or cancelled job can be retried; this one is {job.status}."
        )
    if job.kind == Job.Kind.IMPORT and (not job.file or not default_storage.exists(job.file)):
        raise JobNotRetryable("The uploaded file is no longer stored: upload it again.")
    if job.kind != Job.Kind.IMPORT and options:
        raise JobNotRetryable("Only an import's retry takes options.")
    changed = {} if options is None else {"options": options}
    reset = reopen(job.pk, statuses=RETRYABLE, automatic_retries=0, **changed, **queued_stage())
    if not reset:  # a concurrent retry won
        raise JobNotRetryable("This job is already being retried.")
    job.refresh_from_db()
    _enqueue(job, TASKS[Job.Kind(job.kind)], keep_file=True)
    return job


class JobNotCancellable(APIException):
    status_code = 409
    default_code = "not_cancellable"


def cancel_job(*, job: Job, wait: float = CANCEL_WAIT) -> Job:
    """Cancel a PENDING or PROCESSING job: one that waits ends CANCELLED at once; a running
    one's worker rolls its work back (`jobs.running`), which this waits up to `wait` seconds
    for. The job as it is then: CANCELLED, or still PROCESSING with its cancel asked. A 409 for
    a job that ended before, or that completed before the cancel took effect."""
    asked = Job.objects.filter(
        pk=job.pk, status__in=UNFINISHED, cancel_requested_at__isnull=True
    ).update(cancel_requested_at=timezone.now())
    if not asked and not Job.objects.filter(pk=job.pk, status__in=UNFINISHED).exists():
        job.refresh_from_db()
        raise JobNotCancellable(f"This job has ended ({job.status}): there is nothing to cancel.")
    finish(job, cancelled=True, statuses=[Job.Status.PENDING])  # else a worker has it
    deadline = time.monotonic() + wait
    job.refresh_from_db()
    while not job.is_finished and time.monotonic() < deadline:
        time.sleep(CANCEL_LOOK)
        job.refresh_from_db()
    if job.is_finished and job.status != Job.Status.CANCELLED:
        raise JobNotCancellable(
            f"The job finished before the cancel took effect: it stays {job.status}."
        )
    return job


class JobNotRevertible(APIException):
    status_code = 409
    default_code = "not_revertible"


class UndoGone(APIException):
    status_code = 410
    default_code = "undo_expired"


def revert_job(*, job: Job, force: bool = False, created_by: User | None = None) -> Job:
    """Queue the revert of a completed import or bulk delete (`jobs.kinds.revert`): a new job
    of kind `revert` that `reverts` it, with `force` in its options (conflicts reverted too)."""
    with transaction.atomic():
        locked = Job.objects.select_for_update().get(pk=job.pk)
        _check_revertible(locked)
        revert = Job.objects.create(
            kind=Job.Kind.REVERT,
            reverts=locked,
            file_name=locked.file_name,
            options={"force": force},
            **started_by(created_by),
        )
    _enqueue(revert, run_revert)
    return revert


def _check_revertible(job: Job) -> None:
    if job.kind not in REVERTED_KINDS or job.dry_run:
        raise JobNotRevertible("Only an import (not a preview) or a delete all can be reverted.")
    if job.status != Job.Status.COMPLETED:
        raise JobNotRevertible(f"Only a completed job can be reverted; this one is {job.status}.")
    if job.reverted_by_id is not None:
        raise JobNotRevertible(f"This job was reverted already, by job {job.reverted_by_id}.")
    running = job.revert_jobs.filter(status__in=UNFINISHED).first()
    if running is not None:
        raise JobNotRevertible(f"This job is being reverted, by job {running.pk}.")
    if job.created_count + job.updated_count + job.deleted_count == 0:
        raise JobNotRevertible("This job changed no product: there is nothing to revert.")
    if not undo_kept(job):
        days = settings.UNDO_KEEP_DAYS
        raise UndoGone(
            "This job's before-images are no longer kept, so it cannot be reverted: they are "
            f"kept for {days} days (UNDO_KEEP_DAYS={days}), and none when that is 0."
        )
