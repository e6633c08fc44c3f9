import dataclasses

from celery import shared_task

from . import search_upkeep


@shared_task(name="products.sync_search_index")
def sync_search_index() -> dict[str, object]:
    """Apply the pending products to the search table; queued after each write commits.

    Syncs queued by many writes coalesce: one that finds another upkeep running leaves the work
    to it (which looks for more before it ends), instead of waiting for it in a worker process.
    """
    result = search_upkeep.sync_unless_busy()
    if result is None:
        return {"skipped": "another upkeep runs and applies these rows too"}
    return dataclasses.asdict(result)
