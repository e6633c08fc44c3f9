"""The bulk-delete job: every product, in one transaction, after the job before it.

Run: the products app deletes the catalog (`products.services.delete_all_products`) on the job's
own connection, holding the catalog lock. Progress: its stage (waiting, deleting). Outcome: the
number of products deleted, and one `products.bulk_deleted` event.
"""

import logging

from products.services import delete_all_products

from .. import lifecycle
from ..models import Job
from . import on_the_catalog

logger = logging.getLogger(__name__)


def run(job: Job) -> None:
    """Delete every product; the job ends COMPLETED with the count, or FAILED with none deleted."""
    try:
        with on_the_catalog(job) as conn:
            lifecycle.set_stage(job, "deleting")
            deleted = delete_all_products(conn=conn)
    except Exception:
        logger.exception("bulk delete job %s failed", job.pk)
        lifecycle.finish(job, error="The delete failed unexpectedly; no product was deleted.")
        return
    lifecycle.finish(job, deleted_count=deleted, total_rows=deleted, processed_rows=deleted)
