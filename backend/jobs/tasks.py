"""Celery tasks of the `imports` queue: each takes a job id, claims the job and runs its kind.

Late acknowledgement (settings) means a worker that dies mid-job leaves the task to be delivered
again; `lifecycle.claim()` makes sure a redelivered task never runs a job that already started.
The task names keep the app's label (`imports.`), so tasks queued before an upgrade still run.
"""

from celery import shared_task

from . import lifecycle
from .kinds import bulk_delete, product_import


@shared_task(name="imports.run_import")
def run_import(job_id: str) -> None:
    job = lifecycle.claim(job_id)
    if job is not None:
        product_import.run(job)


@shared_task(name="imports.run_bulk_delete")
def run_bulk_delete(job_id: str) -> None:
    job = lifecycle.claim(job_id)
    if job is not None:
        bulk_delete.run(job)
