"""The bulk-delete job: every product, in one transaction, after the job before it.

Run: the products app deletes the catalog (`products.services.delete_all_products`) on the job's
own connection, holding the catalog lock; first it copies every product into a file of the
default storage, the job's before-images (`undo_file`), unless UNDO_KEEP_DAYS is 0. Progress:
its stage (deleting). Outcome: the number of products deleted, and one `products.bulk_deleted`
event.
"""

import logging
import tempfile
from functools import partial
from typing import Any

import psycopg
from django.core.files.base import File
from django.core.files.storage import default_storage

from products.restore import copy_out_products
from products.services import delete_all_products

from .. import lifecycle
from ..models import Job
from ..running import stops_the_job
from ..undo import keeps_undo, undo_deadline
from . import outage

logger = logging.getLogger(__name__)


def run(job: Job, conn: psycopg.Connection[tuple[Any, ...]]) -> None:
    """Delete every product; the job ends COMPLETED with the count, or FAILED with none deleted.

    A lost connection to the database, or a cancel, propagates (`jobs.kinds.take_turns`).
    """
    kept: list[str] = []

    def keep(count: int) -> None:
        if count and keeps_undo(job):
            kept.append(save_products(job, conn))

    try:
        lifecycle.set_stage(job, "deleting")
        deleted = delete_all_products(conn=conn, keep=keep)
    except Exception as exc:
        for name in kept:  # nothing was deleted
            default_storage.delete(name)
        if stops_the_job(exc):
            raise
        logger.exception("bulk delete job %s failed", job.pk)
        lifecycle.finish(job, error="The delete failed unexpectedly; no product was deleted.")
        return
    undo: dict[str, Any] = {"undo_file": kept[0], "undo_until": undo_deadline()} if kept else {}
    outage.record_despite_outage(
        partial(
            lifecycle.finish,
            job,
            deleted_count=deleted,
            total_rows=deleted,
            processed_rows=deleted,
            **undo,
        )
    )


def save_products(job: Job, conn: psycopg.Connection[tuple[Any, ...]]) -> str:
    """Every product, copied into a file of the default storage; its name there."""
    with tempfile.TemporaryFile() as spool:
        copy_out_products(conn, spool)
        spool.seek(0)
        return default_storage.save(f"undo/{job.pk}.copy", File(spool, name="products.copy"))
