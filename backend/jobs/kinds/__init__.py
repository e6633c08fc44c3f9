"""Each kind of job, as a unit of its own: how it runs, how it reports progress, what it leaves.

A job task takes turns on the catalog (`take_turns`): holding the catalog lock on a connection
of its own, it claims the oldest PENDING job, whatever job the task was queued for, and runs its
kind's `run(job, conn)` while the job's heartbeat beats and its cancel is watched for
(`jobs.running`); then the next one, until none is left. A kind ends the job through
`jobs.lifecycle.finish`, whatever happens, except when the database goes away under it or the job
is cancelled: the connection's loss propagates to the turn, which fails the job with words once
the database is back (`outage.fail_after_outage`), and so does the cancel (`STOPPED`), after
which the turn ends the job CANCELLED, its work rolled back.
"""

import logging
from collections.abc import Callable
from typing import Any

import psycopg

from core.db import connection_lost

from .. import lifecycle
from ..db import catalog_lock, job_connection, wait_for_database
from ..models import Job
from ..running import JobCancelled, cancel_requested, watched
from . import bulk_delete, outage, product_import, revert

logger = logging.getLogger(__name__)

RUNS: dict[str, Callable[[Job, psycopg.Connection[tuple[Any, ...]]], None]] = {
    Job.Kind.IMPORT: product_import.run,
    Job.Kind.BULK_DELETE: bulk_delete.run,
    Job.Kind.REVERT: revert.run,
}
STATEMENT_CANCELLED = (
    "The database cancelled the job's statement (a statement timeout, or an administrator); "
    "nothing was changed."
)
# Times a task waits for the database that went away before it claimed a job.
OUTAGES = 3


def take_turns() -> Job | None:
    """Run the PENDING jobs, oldest first, one at a time on the catalog, until none is left;
    answers the job to retry automatically if the database went away under it (the caller
    queues the retry). A task that finds no job PENDING (they ran in an earlier turn) does
    nothing, and a job whose task was lost runs in the next job's turn."""
    outages = 0
    while True:
        job: Job | None = None
        try:
            if not lifecycle.pending_jobs():
                return None
            with job_connection() as conn, catalog_lock(conn):
                job = lifecycle.claim_next()
                if job is None:
                    return None
                with watched(job, conn):
                    run_or_cancel(job, conn)
        except Exception as exc:
            if not connection_lost(exc):
                raise
            logger.warning("job %s: the database went away: %s", job.pk if job else "-", exc)
            if job is not None:
                return job if outage.fail_after_outage(job) else None
            outages += 1
            if outages == OUTAGES or not wait_for_database():
                return None


def run_or_cancel(
    job: Job, conn: psycopg.Connection[tuple[Any, ...]], run: Callable[[], None] | None = None
) -> None:
    """Run the job's kind on `conn` (or `run`: the command line's import); a job cancelled
    meanwhile (its transaction rolled back) ends CANCELLED, keeping what a retry needs (its
    stored file)."""
    try:
        if run is None:
            RUNS[job.kind](job, conn)
        else:
            run()
    except JobCancelled:
        lifecycle.finish(job, cancelled=True)
    except psycopg.errors.QueryCanceled:
        if cancel_requested(job):
            lifecycle.finish(job, cancelled=True)
        else:
            lifecycle.finish(job, error=STATEMENT_CANCELLED)
