"""What runs beside a job in its worker: its heartbeat, and the watch for its cancel.

A thread of the job's own beats for it every JOB_HEARTBEAT_INTERVAL seconds, so that a job whose
worker dies is told from a live one (`lifecycle.fail_dead_jobs`), and looks every CANCEL_POLL
seconds whether the job's cancel was asked. Once it is, the thread cancels the statement that the
job's connection runs (PostgreSQL's cancel request), so that a long statement (a chunk of the
upsert, the bulk delete, a revert's delete) stops at once; between statements, the job's next
`lifecycle.set_stage` raises `JobCancelled`. Either way the job's transaction rolls back.
"""

import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import psycopg
from django import db
from django.conf import settings
from django.db import connection
from django.utils import timezone

from core.db import connection_lost

from .models import Job

logger = logging.getLogger(__name__)

# Seconds between two looks at whether a running job's cancel was asked: a cancel takes effect
# within about this, plus the rollback.
CANCEL_POLL = 0.5


class JobCancelled(Exception):
    """Raised in a job's worker once its cancel was asked (`lifecycle.set_stage`): the job's
    transaction rolls back, and the job ends CANCELLED (`jobs.kinds`)."""


def stops_the_job(exc: BaseException) -> bool:
    """An error that a kind lets through to its turn (`jobs.kinds`), instead of failing the job
    with words of its own: the database went away, or the job was cancelled (between
    statements, or in one)."""
    return connection_lost(exc) or isinstance(exc, JobCancelled | psycopg.errors.QueryCanceled)


def cancel_requested(job: Job) -> bool:
    return Job.objects.filter(pk=job.pk, cancel_requested_at__isnull=False).exists()


def beat(job: Job) -> None:
    Job.objects.filter(pk=job.pk, status=Job.Status.PROCESSING).update(heartbeat_at=timezone.now())


@contextlib.contextmanager
def watched(job: Job, conn: psycopg.Connection[tuple[Any, ...]]) -> Iterator[None]:
    """Beat for the job and watch for its cancel, from a thread of its own, whatever the job is
    doing on `conn` (its own connection).

    While the database is away, a beat fails: the thread says so once and tries again at the
    next turn.
    """
    stop = threading.Event()

    def watch() -> None:
        failing = signalled = False
        next_beat = time.monotonic() + settings.JOB_HEARTBEAT_INTERVAL
        while not stop.wait(CANCEL_POLL):
            try:
                if not signalled and cancel_requested(job):
                    signalled = True
                    conn.cancel_safe()  # the running statement, if any: else nothing happens
                if time.monotonic() >= next_beat:
                    beat(job)
                    next_beat = time.monotonic() + settings.JOB_HEARTBEAT_INTERVAL
                failing = False
            except (db.Error, psycopg.Error) as exc:
                if not failing:
                    logger.warning("job %s: could not beat or watch for a cancel: %s", job.pk, exc)
                failing = True
            finally:
                connection.close()  # this thread's own: back to the pool, checked on reuse

    thread = threading.Thread(target=watch, name=f"watch-{job.pk}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
