import dataclasses

from celery import shared_task

from . import search


@shared_task(name="products.rebuild_search_index")
def rebuild_search_index() -> dict[str, object]:
    """Rebuild the trigram search table; queued after each bulk import commits."""
    return dataclasses.asdict(search.rebuild())
