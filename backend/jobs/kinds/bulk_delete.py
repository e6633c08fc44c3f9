"""The bulk-delete job: every product, in one transaction, after the job before it.

Run: the products app deletes the catalog (`products.services.delete_all_products`) on the job's
own connection, holding the catalog lock. Progress: its stage (deleting). Outcome: the number of
products deleted, and one `products.bulk_deleted` event.
"""

import logging
from functools import partial
from typing import Any

import psycopg

from core.db import connection_lost
from products.services import delete_all_products

from .. import lifecycle
from ..models import Job
from . import outage

logger = logging.getLogger(__name__)


def run(job: Job, conn: psycopg.Connection[tuple[Any, ...]]) -> None:
    """Delete every product; the job ends COMPLETED with the count, or FAILED with none deleted.

    A lost connection to the database propagates (`jobs.kinds.take_turn`).
    """
    try:
        lifecycle.set_stage(job, "deleting")
        deleted = delete_all_products(conn=conn)
    except Exception as exc:
        if connection_lost(exc):
            raise
        logger.exception("bulk delete job %s failed", job.pk)
        lifecycle.finish(job, error="The delete failed unexpectedly; no product was deleted.")
        return
    outage.record_despite_outage(
        partial(
            lifecycle.finish, job, deleted_count=deleted, total_rows=deleted, processed_rows=deleted
        )
    )
