"""A job's life as the worker records it: claim, stage, heartbeat, finish, the dead-job sweep.

Every write here goes through Django's connection in autocommit, never through the connection of
the job's own transaction (`jobs.db`): progress is visible while the work is still uncommitted,
and a job that fails or is rolled back still says so.
"""

import contextlib
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import F
from django.utils import timezone

from webhooks.services import emit_event

from .models import Job

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
# The webhook event a job sends when it ends, by kind and status (none for a failed delete).
END_EVENTS = {
    (Job.Kind.IMPORT, Job.Status.COMPLETED): "import.completed",
    (Job.Kind.IMPORT, Job.Status.FAILED): "import.failed",
    (Job.Kind.BULK_DELETE, Job.Status.COMPLETED): "products.bulk_deleted",
}
END_EVENT_FIELDS = (
    "id", "kind", "status", "file_name", "total_rows", "created_count", "updated_count",
    "invalid_count", "duplicate_count", "deleted_count", "error_message", "started_at",
    "finished_at",
)  # fmt: skip


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


@contextlib.contextmanager
def heartbeat(job: Job) -> Iterator[None]:
    """Beat for the job from a thread of its own, whatever the job is doing (waiting included).

    A job whose heartbeat stops is failed as a dead worker's (`fail_dead_jobs`).
    """
    stop = threading.Event()

    def keep_beating() -> None:
        try:
            while not stop.wait(settings.JOB_HEARTBEAT_INTERVAL):
                beat(job)
        finally:
            connection.close()  # this thread's own connection

    thread = threading.Thread(target=keep_beating, name=f"heartbeat-{job.pk}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


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
    event_type = END_EVENTS.get((Job.Kind(job.kind), status))
    if ended and event_type:
        # One webhook event per job, never one per row; sent once this update is committed.
        data = Job.objects.values(*END_EVENT_FIELDS).get(pk=job.pk)
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
