"""Celery tasks of the `imports` queue: each takes turns on the catalog (`kinds.take_turns`).

A job task takes the id of the job it was queued for, but runs the oldest PENDING job: jobs
start in the order they were created, and a job whose task was lost (queued again by
`lifecycle.requeue_lost_jobs`) does not wait behind newer ones. Late acknowledgement (settings)
means a worker that dies mid-job leaves the task to be delivered again; `lifecycle.claim_next()`
makes sure a redelivered task never runs a job that already started. The task names keep the
app's label (`imports.`), so tasks queued before an upgrade still run.
"""

import logging
from typing import Any

from celery import Task, shared_task
from celery.signals import worker_ready
from django.conf import settings
from kombu.exceptions import OperationalError as BrokerError

from . import lifecycle, undo
from .db import close_pool
from .kinds import take_turns
from .models import Job

logger = logging.getLogger(__name__)


@shared_task(name="imports.run_import", bind=True)
def run_import(task: Task[..., None], job_id: str, automatic_retry: bool = False) -> None:
    run_jobs(task, job_id, automatic_retry=automatic_retry)


@shared_task(name="imports.run_bulk_delete", bind=True)
def run_bulk_delete(task: Task[..., None], job_id: str, automatic_retry: bool = False) -> None:
    run_jobs(task, job_id, automatic_retry=automatic_retry)


@shared_task(name="imports.run_revert", bind=True)
def run_revert(task: Task[..., None], job_id: str, automatic_retry: bool = False) -> None:
    run_jobs(task, job_id, automatic_retry=automatic_retry)


def run_jobs(task: Task[..., None], job_id: str, *, automatic_retry: bool) -> None:
    """Turns on the catalog; an automatic retry first puts its FAILED job back to PENDING
    (unless it was retried by hand meanwhile). A job the database went away under is retried
    once, AUTOMATIC_RETRY_DELAY seconds later, on the queue this task came from."""
    if automatic_retry:
        lifecycle.reopen(job_id)
    job = take_turns()
    if job is None:
        return
    retry = TASKS[Job.Kind(job.kind)]
    delivery = task.request.delivery_info or {}
    queue = delivery.get("routing_key") or settings.CELERY_TASK_DEFAULT_QUEUE
    try:
        retry.apply_async(
            args=(str(job.pk), True),
            queue=queue,
            countdown=lifecycle.AUTOMATIC_RETRY_DELAY,
            retry=False,
        )
    except (BrokerError, OSError) as exc:
        logger.warning("job %s: could not queue its automatic retry: %s", job.pk, exc)


TASKS = {
    Job.Kind.IMPORT: run_import,
    Job.Kind.BULK_DELETE: run_bulk_delete,
    Job.Kind.REVERT: run_revert,
}


@shared_task(name="imports.prune_expired")
def prune_expired() -> int:
    """The files and changes of previews past PREVIEW_KEEP_HOURS, and the before-images of jobs
    past UNDO_KEEP_DAYS, removed (beat, settings)."""
    return undo.prune_expired()


@worker_ready.connect
def requeue_on_start(sender: Any, **kwargs: Any) -> None:
    """A worker of the jobs' queue, as it starts, queues a job task if PENDING jobs wait and
    none is queued: the broker's data may have been lost, or the worker before it killed with
    the tasks it held."""
    queues = {queue.name for queue in sender.task_consumer.queues}
    if settings.CELERY_TASK_DEFAULT_QUEUE not in queues:
        return
    try:
        lifecycle.requeue_lost_jobs(at_start=True)
    except Exception:  # a worker must start even if the database is not there yet
        logger.exception("could not look for jobs that lost their task")
    finally:
        # The main process keeps no connection: a pool process forked later must not share it.
        close_pool()
