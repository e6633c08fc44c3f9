import dataclasses

from celery import Task, shared_task

from . import search

# Seconds before a rebuild that found another one running looks again.
RETRY_BUSY_AFTER = 10


@shared_task(name="products.rebuild_search_index", bind=True)
def rebuild_search_index(task: Task[[], dict[str, object]]) -> dict[str, object]:
    """Rebuild the trigram search table; queued after each bulk import commits.

    Rebuilds queued by several imports coalesce: one that finds the table fresh does nothing,
    and one that finds another rebuild running comes back later instead of waiting for it in a
    worker process, which the next import or delete would otherwise wait for.
    """
    if search.is_fresh():
        return {"skipped": "the search table is fresh"}
    result = search.rebuild_unless_busy()
    if result is None:
        task.apply_async(countdown=RETRY_BUSY_AFTER)
        return {"skipped": "another rebuild runs; this one comes back later"}
    return dataclasses.asdict(result)
