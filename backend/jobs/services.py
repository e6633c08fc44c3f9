"""Creating and queueing jobs; what the tasks record as a job runs."""

from __future__ import annotations

import csv
import io
import logging
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db.models import F
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError
from rest_framework.exceptions import APIException

from webhooks.services import emit_event

from .models import Job
from .uploads import check_upload

logger = logging.getLogger(__name__)

STAGE_MESSAGES = {
    "queued": "Queued",
    "waiting": "Waiting for the job before it to finish",
    "parsing": "Parsing CSV",
    "importing": "Importing",
    "deleting": "Deleting products",
    "failed": "Failed",
}
DONE_MESSAGES = {Job.Kind.IMPORT: "Import complete", Job.Kind.BULK_DELETE: "Delete complete"}
UNFINISHED = [Job.Status.PENDING, Job.Status.PROCESSING]
DEAD_WORKER_ERROR = (
    "The worker running this job stopped before it finished (it was killed or ran out of "
    "memory); nothing was changed."
)


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


def create_import_job(*, upload: UploadedFile[Any] | None) -> Job:
    """Check the upload, store it (streamed, never whole in memory) and queue its import."""
    upload = check_upload(upload)
    name = upload.name or "upload.csv"
    job_id = uuid.uuid4()
    # Stored under the job's id: the user's file name is only shown, never used as a path.
    suffix = ".csv.gz" if name.lower().endswith(".gz") else ".csv"
    stored = default_storage.save(f"uploads/{job_id}{suffix}", upload)
    job = Job.objects.create(id=job_id, kind=Job.Kind.IMPORT, file=stored, file_name=name)
    from .tasks import run_import

    _enqueue(job, run_import)
    return job


def create_bulk_delete_job() -> Job:
    job = Job.objects.create(kind=Job.Kind.BULK_DELETE)
    from .tasks import run_bulk_delete

    _enqueue(job, run_bulk_delete)
    return job


def _enqueue(job: Job, task: object, *, keep_file: bool = False) -> None:
    """Queue the job's task now; if the broker is down, the job ends FAILED and the caller 503."""
    try:
        task.apply_async(args=[str(job.pk)], retry=False)  # type: ignore[attr-defined]
    except (BrokerError, OSError) as exc:
        logger.warning("could not queue job %s: %s", job.pk, exc)
        finish(job, error="The task queue was unavailable; nothing was done.")
        if job.file and not keep_file:
            default_storage.delete(job.file)
        raise BrokerUnavailable from exc


def claim(job_id: str) -> Job | None:
    """PENDING -> PROCESSING, once: a redelivered task finds nothing to claim."""
    claimed = Job.objects.filter(pk=job_id, status=Job.Status.PENDING).update(
        status=Job.Status.PROCESSING, started_at=timezone.now(), heartbeat_at=timezone.now()
    )
    return Job.objects.get(pk=job_id) if claimed else None


def set_stage(job: Job, stage: str, **fields: object) -> None:
    """Record progress on the job row, in autocommit: outside any import transaction."""
    Job.objects.filter(pk=job.pk).update(
        stage=stage, message=STAGE_MESSAGES[stage], heartbeat_at=timezone.now(), **fields
    )


def beat(job: Job) -> None:
    Job.objects.filter(pk=job.pk, status=Job.Status.PROCESSING).update(heartbeat_at=timezone.now())


def finish(job: Job, *, error: str = "", **counts: int) -> bool:
    """End a job that has not ended yet: FAILED with `error`, else COMPLETED with `counts`.

    False if the job had already ended (a job failed as dead whose worker comes back, say).
    """
    status = Job.Status.FAILED if error else Job.Status.COMPLETED
    ended = Job.objects.filter(pk=job.pk, status__in=UNFINISHED).update(
        status=status,
        stage="failed" if error else "done",
        message=STAGE_MESSAGES["failed"] if error else DONE_MESSAGES[Job.Kind(job.kind)],
        error_message=error,
        percent=F("percent") if error else 100,
        finished_at=timezone.now(),
        heartbeat_at=timezone.now(),
        **counts,
    )
    event_type = {
        (Job.Kind.IMPORT, Job.Status.COMPLETED): "import.completed",
        (Job.Kind.IMPORT, Job.Status.FAILED): "import.failed",
        (Job.Kind.BULK_DELETE, Job.Status.COMPLETED): "products.bulk_deleted",
    }.get((Job.Kind(job.kind), status))
    if ended and event_type:
        # One webhook event per job, never one per row; sent once this update is committed.
        data = Job.objects.values(
            "id",
            "kind",
            "status",
            "file_name",
            "total_rows",
            "created_count",
            "updated_count",
            "invalid_count",
            "duplicate_count",
            "deleted_count",
            "error_message",
            "started_at",
            "finished_at",
        ).get(pk=job.pk)
        emit_event(event_type=event_type, data=data)
    return bool(ended)


def fail_dead_jobs() -> None:
    """A job whose worker stopped writing its heartbeat (killed, out of memory) ends FAILED.

    The worker's database session ended with it, so its transaction was rolled back: the
    catalog is as it was before the job. Runs whenever jobs are read: no extra process needed.
    """
    dead = Job.objects.filter(status=Job.Status.PROCESSING, heartbeat_at__lt=heartbeat_cutoff())
    for job in dead.only("pk", "kind"):
        finish(job, error=DEAD_WORKER_ERROR)


def heartbeat_cutoff() -> datetime:
    """A running job whose last heartbeat is older than this has lost its worker."""
    return timezone.now() - timedelta(seconds=settings.JOB_HEARTBEAT_TIMEOUT)


class JobNotRetryable(APIException):
    status_code = 409
    default_code = "not_retryable"


def retry_import_job(*, job: Job) -> Job:
    """Queue a FAILED import again, from the file it stored, under the same job id."""
    if job.kind != Job.Kind.IMPORT or job.status != Job.Status.FAILED:
        raise JobNotRetryable("Only a failed import can be retried.")
    if not job.file or not default_storage.exists(job.file):
        raise JobNotRetryable("The uploaded file is no longer stored: upload it again.")
    reset = Job.objects.filter(pk=job.pk, status=Job.Status.FAILED).update(
        status=Job.Status.PENDING,
        stage="queued",
        message=STAGE_MESSAGES["queued"],
        error_message="",
        total_rows=None,
        processed_rows=0,
        percent=0,
        created_count=0,
        updated_count=0,
        invalid_count=0,
        duplicate_count=0,
        errors_file="",
        started_at=None,
        finished_at=None,
        heartbeat_at=None,
    )
    if not reset:  # a concurrent retry won
        raise JobNotRetryable("This import is already being retried.")
    job.refresh_from_db()
    from .tasks import run_import

    _enqueue(job, run_import, keep_file=True)
    return job


def discard_upload(job: Job) -> None:
    """An import that completed has no use for its upload any more (a failed one keeps it)."""
    if job.file:
        default_storage.delete(job.file)
        Job.objects.filter(pk=job.pk).update(file="")


def save_error_report(job: Job, rows: Iterable[tuple[int, str, list[str]]]) -> None:
    """The per-row error report: line, reason, then the row's original fields."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["line", "reason", "fields"])
    for line, reason, fields in rows:
        writer.writerow([line, reason, *fields])
    name = default_storage.save(f"errors/{job.pk}.csv", ContentFile(buffer.getvalue().encode()))
    Job.objects.filter(pk=job.pk).update(errors_file=name)
