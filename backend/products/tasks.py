import dataclasses

from celery import shared_task
from django.db import OperationalError

from core.db import sqlstate

from . import search_upkeep

# A lock the upkeep gave way to (lock_timeout), or a deadlock PostgreSQL broke by aborting it.
GAVE_WAY_SQLSTATES = {"55P03", "40P01"}
# Seconds before an upkeep that gave way comes back.
RETRY_AFTER_GIVING_WAY = 5


@shared_task(name="products.sync_search_index")
def sync_search_index() -> dict[str, object]:
    """Apply the pending products to the search table; queued after each write commits.

    Syncs queued by many writes coalesce: one that finds another upkeep running leaves the work
    to it (which looks for more before it ends), instead of waiting for it in a worker process.
    One that gave way to a lock (a delete of every product) comes back a few seconds later.
    """
    try:
        result = search_upkeep.sync_unless_busy()
    except OperationalError as exc:
        if sqlstate(exc) not in GAVE_WAY_SQLSTATES:
            raise
        sync_search_index.apply_async(countdown=RETRY_AFTER_GIVING_WAY)
        return {"skipped": "gave way to a lock; comes back in a few seconds"}
    if result is None:
        return {"skipped": "another upkeep runs and applies these rows too"}
    return dataclasses.asdict(result)
