"""Each kind of job, as a unit of its own: how it runs, how it reports progress, what it leaves.

A kind's `run(job)` is called by its Celery task once the job is claimed (`jobs.tasks`); it works
`on_the_catalog` (the job's heartbeat, its own connection, the catalog lock) and ends the job
through `jobs.lifecycle.finish`, whatever happens.
"""

import contextlib
from collections.abc import Iterator
from functools import partial
from typing import Any

import psycopg

from .. import lifecycle
from ..db import catalog_lock, job_connection
from ..models import Job


@contextlib.contextmanager
def on_the_catalog(job: Job) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
    """The job's own connection, holding the catalog lock, while its heartbeat beats; the job's
    stage says `waiting` while another job holds the catalog."""
    with (
        lifecycle.heartbeat(job),
        job_connection() as conn,
        catalog_lock(conn, partial(lifecycle.set_stage, job, "waiting")),
    ):
        yield conn
