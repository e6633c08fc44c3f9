"""A job's life as the worker records it: claim, stage, heartbeat, finish, the retry, and the
sweeps that fail a dead worker's job and queue a lost task again.

Every write here goes through Django's connection in autocommit, never through the connection of
the job's own transaction (`jobs.db`): progress is visible while the work is still uncommitted,
and a job that fails or is rolled back still says so.
"""

import json
import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import redis
from celery import current_app
from django.conf import settings
from django.db import connection
from django.db.models import F
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from webhooks.services import emit_event

from .models import Job
from .running import JobCancelled

logger = logging.getLogger(__name__)

STAGE_MESSAGES = {
    "queued": "Queued",
    "waiting": "Waiting for the job before it",
    "parsing": "Parsing CSV",
    "importing": "Importing",
    "deleting": "Deleting products",
    "reverting": "Reverting",
    "failed": "Failed",
    "cancelled": "Cancelled",
}
DONE_MESSAGES = {
    Job.Kind.IMPORT: "Import complete",
    Job.Kind.BULK_DELETE: "Delete complete",
    Job.Kind.REVERT: "Revert complete",
}
PREVIEW_DONE = "Preview complete"
RETRIED_DONE = " (retried automatically after the database went away)"
UNFINISHED = [Job.Status.PENDING, Job.Status.PROCESSING]
DEAD_WORKER_ERROR = (
    "The worker running this job stopped before it finished (it was killed or ran out of "
    "memory); nothing was changed."
)
DATABASE_LOST_ERRORS = {
    Job.Kind.IMPORT: "The database went away during the import (PostgreSQL restarted or the "
    "connection was lost); nothing was changed.",
    Job.Kind.BULK_DELETE: "The database went away during the delete (PostgreSQL restarted or "
    "the connection was lost); no product was deleted.",
    Job.Kind.REVERT: "The database went away during the revert (PostgreSQL restarted or the "
    "connection was lost); nothing was changed.",
}
RETRIED_AUTOMATICALLY = " It is retried automatically in a few seconds."
NOT_RETRIED = " It was retried automatically once already, so it is not retried again."
# Seconds between a job's FAILED after an outage and its automatic retry: its state is seen.
AUTOMATIC_RETRY_DELAY = 5.0
# The fields of a job's outcome, put back to a new job's for a retry.
FRESH_OUTCOME: dict[str, Any] = {
    "status": Job.Status.PENDING,
    "stage": "queued",
    "message": STAGE_MESSAGES["queued"],
    "error_message": "",
    "total_rows": None,
    "processed_rows": 0,
    "percent": 0,
    "created_count": 0,
    "updated_count": 0,
    "unchanged_count": 0,
    "skipped_count": 0,
    "invalid_count": 0,
    "duplicate_count": 0,
    "deleted_count": 0,
    "conflict_count": 0,
    "errors_file": "",
    "file_columns": None,
    "needs_mapping": False,
    "expires_at": None,
    "started_at": None,
    "finished_at": None,
    "heartbeat_at": None,
    "cancel_requested_at": None,
    "undo_until": None,
}
# The tasks of jobs, by kind (sent by name: `jobs.tasks` imports this module).
JOB_TASKS = {
    Job.Kind.IMPORT: "imports.run_import",
    Job.Kind.BULK_DELETE: "imports.run_bulk_delete",
    Job.Kind.REVERT: "imports.run_revert",
}
# The webhook event a job sends when it ends, by kind and status (none when nothing changed:
# a failed or cancelled delete or revert).
END_EVENTS = {
    (Job.Kind.IMPORT, Job.Status.COMPLETED): "import.completed",
    (Job.Kind.IMPORT, Job.Status.FAILED): "import.failed",
    (Job.Kind.IMPORT, Job.Status.CANCELLED): "import.cancelled",
    (Job.Kind.BULK_DELETE, Job.Status.COMPLETED): "products.bulk_deleted",
    (Job.Kind.REVERT, Job.Status.COMPLETED): "job.reverted",
}
END_EVENT_FIELDS = (
    "id", "kind", "status", "file_name", "total_rows", "created_count", "updated_count",
    "invalid_count", "duplicate_count", "deleted_count", "conflict_count", "error_message",
    "started_at", "finished_at", "reverts",
)  # fmt: skip


def pending_jobs() -> bool:
    return Job.objects.filter(status=Job.Status.PENDING).exists()


def claim_next() -> Job | None:
    """The oldest PENDING job, now PROCESSING; None if none waits.

    Called holding the catalog lock, so jobs start in the order they were created whichever
    task comes first: a job whose task was lost and queued again still goes before newer ones.
    """
    while True:
        oldest = Job.objects.filter(status=Job.Status.PENDING).order_by("created_at").first()
        if oldest is None:
            return None
        now = timezone.now()
        claimed = Job.objects.filter(pk=oldest.pk, status=Job.Status.PENDING).update(
            status=Job.Status.PROCESSING, started_at=now, heartbeat_at=now
        )
        if claimed:  # else a retry of it came in between: look again
            return Job.objects.get(pk=oldest.pk)


def reopen(
    job_id: UUID | str, statuses: Iterable[str] = (Job.Status.FAILED,), **fields: Any
) -> bool:
    """FAILED (or one of `statuses`) -> PENDING with a fresh outcome, for a retry under the
    same id; False if the job is not in them any more (another retry won)."""
    reset = Job.objects.filter(pk=job_id, status__in=statuses).update(
        **{**FRESH_OUTCOME, **fields}, queued_at=timezone.now()
    )
    return bool(reset)


def set_stage(job: Job, stage: str, **fields: object) -> None:
    """Record progress on the job row, in autocommit: outside any import transaction. Raises
    JobCancelled, recording nothing, once the job's cancel has been asked."""
    recorded = Job.objects.filter(pk=job.pk, cancel_requested_at__isnull=True).update(
        stage=stage, message=STAGE_MESSAGES[stage], heartbeat_at=timezone.now(), **fields
    )
    if not recorded:
        raise JobCancelled(job.pk)


def queued_stage() -> dict[str, str]:
    """The stage of a job about to be queued: waiting when another job is ahead of it."""
    ahead = Job.objects.filter(status__in=UNFINISHED).exists()
    stage = "waiting" if ahead else "queued"
    return {"stage": stage, "message": STAGE_MESSAGES[stage]}


def finish(
    job: Job,
    *,
    error: str = "",
    note: str = "",
    cancelled: bool = False,
    statuses: Iterable[str] = UNFINISHED,
    **fields: Any,
) -> bool:
    """End a job that has not ended yet: FAILED with `error`, CANCELLED if `cancelled` (its
    work rolled back), else COMPLETED with `fields` (counts, and the like); `note` follows the
    done message ("Import complete. ...").

    False if the job had already ended (a job failed as dead whose worker comes back, say), or
    is in none of `statuses`. A dry run sends no webhook event: it changed nothing.
    """
    if cancelled:
        status, stage, message = Job.Status.CANCELLED, "cancelled", STAGE_MESSAGES["cancelled"]
    elif error:
        status, stage, message = Job.Status.FAILED, "failed", STAGE_MESSAGES["failed"]
    else:
        done = (PREVIEW_DONE if job.dry_run else DONE_MESSAGES[Job.Kind(job.kind)]) + (
            RETRIED_DONE if job.automatic_retries else ""
        )
        status, stage, message = Job.Status.COMPLETED, "done", f"{done}. {note}" if note else done
    ended = Job.objects.filter(pk=job.pk, status__in=statuses).update(
        status=status,
        stage=stage,
        message=message[:255],
        error_message=error,
        percent=100 if status == Job.Status.COMPLETED else F("percent"),
        finished_at=timezone.now(),
        heartbeat_at=timezone.now(),
        **fields,
    )
    event_type = None if job.dry_run else END_EVENTS.get((Job.Kind(job.kind), status))
    if ended and event_type:
        # One webhook event per job, never one per row; sent once this update is committed.
        data = Job.objects.values(*END_EVENT_FIELDS).get(pk=job.pk)
        emit_event(event_type=event_type, data=data)
    return bool(ended)


def fail_dead_jobs() -> None:
    """A job whose worker stopped writing its heartbeat (killed, out of memory) ends FAILED;
    then a job whose task was lost is queued again (`requeue_lost_jobs`).

    The worker's database session ended with it, so its transaction was rolled back: the
    catalog is as it was before the job. Runs whenever jobs are read: no extra process needed.
    A database that restarted less than a heartbeat timeout ago fails nothing yet: the
    workers could not write a heartbeat while it was away.
    """
    cutoff = heartbeat_cutoff()
    dead = list(
        Job.objects.filter(status=Job.Status.PROCESSING, heartbeat_at__lt=cutoff).only(
            "pk", "kind", "dry_run", "heartbeat_at", "automatic_retries"
        )
    )
    restarted = database_started_at() if dead else cutoff
    if restarted < cutoff:
        for job in dead:
            lost = job.heartbeat_at is not None and job.heartbeat_at < restarted
            finish(
                job, error=DATABASE_LOST_ERRORS[Job.Kind(job.kind)] if lost else DEAD_WORKER_ERROR
            )
    requeue_lost_jobs()


def heartbeat_cutoff() -> datetime:
    """A running job whose last heartbeat is older than this has lost its worker."""
    return timezone.now() - timedelta(seconds=settings.JOB_HEARTBEAT_TIMEOUT)


def database_started_at() -> datetime:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_postmaster_start_time()")
        started: datetime = cursor.fetchone()[0]
    return started


def requeue_lost_jobs(*, at_start: bool = False) -> bool:
    """Queue a job task again if PENDING jobs wait and nothing will run them; whether it did.

    A job task runs the PENDING jobs, oldest first, until none is left (`jobs.kinds`), so jobs
    wait for good only when no job task is queued and no job runs: the broker lost its data, or
    the worker that held the tasks was killed (they come back after the broker's visibility
    timeout, hours later). When jobs are read, a job is looked at once it has waited
    JOB_REQUEUE_AFTER seconds since it was queued, and then once per that time. At a worker's
    start (`at_start`), at once, whether a job runs or not: the job running may be the killed
    worker's. A task too many runs nothing.
    """
    grace = timedelta(seconds=0 if at_start else settings.JOB_REQUEUE_AFTER)
    now = timezone.now()
    waiting = Job.objects.filter(status=Job.Status.PENDING, queued_at__lte=now - grace)
    oldest = waiting.order_by("created_at").only("pk", "kind").first()
    if oldest is None:
        return False
    if not at_start and Job.objects.filter(status=Job.Status.PROCESSING).exists():
        return False  # its worker runs the waiting jobs next
    waiting.update(queued_at=now)
    try:
        if queued_job_tasks():
            return False
        current_app.send_task(JOB_TASKS[Job.Kind(oldest.kind)], args=(str(oldest.pk),), retry=False)
    except (redis.RedisError, BrokerError, OSError) as exc:
        logger.warning("could not look for lost job tasks: %s", exc)
        return False
    logger.warning("PENDING jobs had no task to run them: job %s queued again", oldest.pk)
    return True


def queued_job_tasks() -> int:
    """The job tasks waiting in the jobs' queue of the broker (kombu's Redis transport)."""
    broker = redis.Redis.from_url(
        settings.CELERY_BROKER_URL, socket_connect_timeout=2, socket_timeout=2
    )
    names = set(JOB_TASKS.values())
    messages = broker.lrange(settings.CELERY_TASK_DEFAULT_QUEUE, 0, -1)
    return sum(1 for m in messages if json.loads(m).get("headers", {}).get("task") in names)
