"""What a job does when the database goes away under it (`jobs.db.connection_lost`).

Before the job's transaction commits, nothing was changed: the server rolled it back with the
session. The job waits for the database, ends FAILED with words and is retried once by itself
(`fail_after_outage`). After the commit, what it has left to write is written once the database
is back (`record_despite_outage`).
"""

from collections.abc import Callable

from django import db
from django.db.models import F

from core.db import connection_lost

from .. import lifecycle
from ..db import wait_for_database
from ..models import Job


def fail_after_outage(job: Job) -> bool:
    """A job whose connection to the database was lost: once the database is back, it ends
    FAILED with words; True if it is to be retried automatically (the first time only).

    Nothing was changed: the server rolled the job's transaction back with its session. A retry
    is safe (an import's file is kept until it completes, a delete deletes what is there), and
    one at most, so that a database that keeps failing cannot keep a job going round.
    """
    if not wait_for_database():
        return False  # the sweep fails it once the database is back (`lifecycle.fail_dead_jobs`)
    retry = bool(
        Job.objects.filter(pk=job.pk, automatic_retries=0).update(
            automatic_retries=F("automatic_retries") + 1
        )
    )
    error = lifecycle.DATABASE_LOST_ERRORS[Job.Kind(job.kind)] + (
        lifecycle.RETRIED_AUTOMATICALLY if retry else lifecycle.NOT_RETRIED
    )
    return lifecycle.finish(job, error=error) and retry


def record_despite_outage(record: Callable[[], object]) -> None:
    """Call `record()`, which writes what a committed job leaves; if the database goes away
    meanwhile, call it again once it is back (each write it makes can be made twice)."""
    try:
        record()
    except db.Error as exc:
        if not connection_lost(exc) or not wait_for_database():
            raise
        record()
