"""Celery tasks of the `imports` queue: they take a job id, claim the job and run it.

Late acknowledgement (settings) means a worker that dies mid-job leaves the task to be delivered
again; `claim()` makes sure a redelivered task never runs a job that already started.
"""

import contextlib
import logging
import threading
import zlib
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any, BinaryIO, cast

import psycopg
from celery import shared_task
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connection

from core.db import psycopg_params
from products.tasks import rebuild_search_index

from . import services
from .engine import ImportFailed, Progress, import_products
from .models import Job
from .uploads import catalog_size, open_catalog

logger = logging.getLogger(__name__)

# One import or bulk delete at a time per catalog: the next one waits (an advisory-lock key).
CATALOG_LOCK_KEY = 7_311_002


def engine_connection() -> psycopg.Connection[tuple[Any, ...]]:
    """A connection of its own for the engine's transaction; progress goes through Django's.

    If the worker dies, the server notices within seconds (client_connection_check_interval)
    and rolls the transaction back, even in the middle of the upsert.
    """
    params = psycopg_params()
    params["options"] = f"{params.get('options', '')} -c client_connection_check_interval=2000"
    return psycopg.connect(**params)


@contextlib.contextmanager
def heartbeat(job: Job) -> Iterator[None]:
    """Beat for the job from a thread of its own, whatever the job is doing (waiting included).

    A job whose heartbeat stops is failed as a dead worker's (`services.fail_dead_jobs`).
    """
    stop = threading.Event()

    def beat() -> None:
        try:
            while not stop.wait(settings.JOB_HEARTBEAT_INTERVAL):
                services.beat(job)
        finally:
            connection.close()  # this thread's own connection

    thread = threading.Thread(target=beat, name=f"heartbeat-{job.pk}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


@contextlib.contextmanager
def catalog_lock(
    conn: psycopg.Connection[tuple[Any, ...]], on_wait: Callable[[], None]
) -> Iterator[None]:
    """Hold the catalog for one import or bulk delete; `on_wait` if another one has it."""
    acquired = conn.execute("SELECT pg_try_advisory_lock(%s)", [CATALOG_LOCK_KEY]).fetchone()
    if not (acquired and acquired[0]):
        on_wait()
        conn.execute("SELECT pg_advisory_lock(%s)", [CATALOG_LOCK_KEY])
    conn.commit()
    try:
        yield
    finally:
        conn.rollback()
        conn.execute("SELECT pg_advisory_unlock(%s)", [CATALOG_LOCK_KEY])
        conn.commit()


@shared_task(name="imports.run_import")
def run_import(job_id: str) -> None:
    job = services.claim(job_id)
    if job is None:
        return

    def report(progress: Progress) -> None:
        services.set_stage(
            job,
            progress.stage,
            processed_rows=progress.processed_rows,
            total_rows=progress.total_rows,
            percent=progress.percent,
        )

    try:
        with (
            heartbeat(job),
            engine_connection() as conn,
            catalog_lock(conn, partial(services.set_stage, job, "waiting")),
        ):
            services.set_stage(job, "parsing")
            with default_storage.open(job.file, "rb") as stored:
                source = cast(BinaryIO, stored)
                result = import_products(
                    conn,
                    open_catalog(source, job.file),
                    size_bytes=catalog_size(source, job.file),
                    progress=report,
                )
    except ImportFailed as exc:
        services.finish(job, error=str(exc))
        return
    except (OSError, EOFError, zlib.error) as exc:  # a .csv.gz that is corrupt or cut short
        services.finish(job, error=f"The file could not be read ({exc}); nothing was imported.")
        return
    except Exception:
        logger.exception("import job %s failed", job_id)
        services.finish(job, error="The import failed unexpectedly; the catalog is unchanged.")
        return
    if result.errors:
        services.save_error_report(job, ((e.line, e.reason, e.fields) for e in result.errors))
    services.finish(
        job,
        total_rows=result.total_rows,
        processed_rows=result.total_rows,
        created_count=result.created_count,
        updated_count=result.updated_count,
        invalid_count=result.invalid_count,
        duplicate_count=result.duplicate_count,
    )
    services.discard_upload(job)
    rebuild_search_index.delay()


@shared_task(name="imports.run_bulk_delete")
def run_bulk_delete(job_id: str) -> None:
    """Every product, in one transaction: TRUNCATE, which takes milliseconds at any size."""
    job = services.claim(job_id)
    if job is None:
        return
    try:
        with (
            heartbeat(job),
            engine_connection() as conn,
            catalog_lock(conn, partial(services.set_stage, job, "waiting")),
        ):
            services.set_stage(job, "deleting")
            with conn.transaction():
                row = conn.execute(
                    "SELECT total FROM products_productcount WHERE id = 1 FOR UPDATE"
                ).fetchone()
                deleted = int(row[0]) if row else 0
                conn.execute("TRUNCATE products_product, products_productsearch")
    except Exception:
        logger.exception("bulk delete job %s failed", job_id)
        services.finish(job, error="The delete failed unexpectedly; no product was deleted.")
        return
    services.finish(job, deleted_count=deleted, total_rows=deleted, processed_rows=deleted)
