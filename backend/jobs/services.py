"""Creating, queueing and retrying jobs: what the endpoints call.

Services queue tasks (`jobs.tasks`, imported here at module level); the tasks never import this
module back: they run a job's kind (`jobs.kinds`), which records through `jobs.lifecycle`.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from celery import Task
from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from kombu.exceptions import OperationalError as BrokerError
from rest_framework.exceptions import APIException

from .lifecycle import finish, preview_expired, reopen
from .models import Job
from .options import DEFAULTS
from .tasks import run_bulk_delete, run_import
from .uploads import check_upload

logger = logging.getLogger(__name__)


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
        created_by=created_by,
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
            created_by=created_by,
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
    job = Job.objects.create(kind=Job.Kind.BULK_DELETE, created_by=created_by)
    _enqueue(job, run_bulk_delete)
    return job


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


def retry_import_job(*, job: Job, options: dict[str, Any] | None = None) -> Job:
    """Queue a FAILED import again, from the file it stored, under the same job id; with
    `options` (as applied, `jobs.options`) instead of its own, a mapping for its header, say."""
    if job.kind != Job.Kind.IMPORT or job.status != Job.Status.FAILED:
        raise JobNotRetryable("Only a failed import can be retried.")
    if not job.file or not default_storage.exists(job.file):
        raise JobNotRetryable("The uploaded file is no longer stored: upload it again.")
    changed = {} if options is None else {"options": options}
    reset = reopen(job.pk, automatic_retries=0, **changed)
    if not reset:  # a concurrent retry won
        raise JobNotRetryable("This import is already being retried.")
    job.refresh_from_db()
    _enqueue(job, run_import, keep_file=True)
    return job
