"""Search that stays fast at 500,000 products, while the catalog changes under it.

Trigram GIN indexes make "contains" filters fast, but maintaining them row by row makes a large
upsert several times slower (docs/benchmarks.md). So they live on a table of their own,
`ProductSearch`, a lower-cased copy of each product's SKU, name and description, and no writer
waits for them:

- every statement that creates, deletes or changes the text of products marks them in
  `ProductSearchPending`, by trigger, in its own transaction;
- the search upkeep (`products.search_upkeep`, a Celery task queued after each write) applies
  the pending rows to the search table in small batches, or, after an import that changed a
  large part of the catalog, builds a new table beside the old one and swaps it in;
- a search reads the search table for the products that are not pending, and the products'
  own columns (ILIKE) for the few that are: exact at every moment. Only when more than
  `SEARCH_DELTA_SCAN_LIMIT` products are pending (just after a large import) does it read the
  search table alone, fast but behind the catalog, and say so (`search_catching_up`).
"""

from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.db.models import Q, QuerySet

from .models import Product, ProductSearch, ProductSearchPending

SEARCHED_FIELDS = ("sku", "name", "description")
PENDING_TABLE = ProductSearchPending._meta.db_table
# How many products are pending, counted no further than the limit plus one.
PENDING_SQL = f"SELECT count(*) FROM (SELECT FROM {PENDING_TABLE} LIMIT %s) pending"


@dataclass(frozen=True)
class SearchState:
    """What a request's searches read: `pending` products, counted up to `delta_limit` + 1."""

    pending: int
    delta_limit: int

    @property
    def catching_up(self) -> bool:
        """Too many pending products to scan: the search table alone answers, a little behind."""
        return self.pending > self.delta_limit


def state() -> SearchState:
    """The search's state now: one query, asked once per request however many filters it has."""
    limit = int(settings.SEARCH_DELTA_SCAN_LIMIT)
    with connection.cursor() as cursor:
        cursor.execute(PENDING_SQL, [limit + 1])
        row = cursor.fetchone()
    return SearchState(pending=int(row[0]), delta_limit=limit)


def matching(
    queryset: QuerySet[Product],
    term: str,
    fields: tuple[str, ...] = SEARCHED_FIELDS,
    *,
    state: SearchState,
) -> QuerySet[Product]:
    """Products where any of `fields` contains `term`, ignoring case.

    The search table answers for the products whose row is up to date; the pending ones are
    matched on their own columns, in the same snapshot, so a write is found (or no longer found)
    as soon as it commits. One statement: either state of a swap, never an error.
    """
    indexed = Q()
    current = Q()
    for field in fields:
        indexed |= Q(**{f"{field}__lower_contains": term})
        current |= Q(**{f"{field}__ilike": term})
    rows = ProductSearch.objects.filter(indexed).values("product_id")
    if state.catching_up:
        return queryset.filter(id__in=rows)
    pending = ProductSearchPending.objects.values("product_id")
    # One set of ids, so that PostgreSQL can join it (an OR of two IN lists it can only filter
    # by, row after row of the catalog, which a rare term makes a scan of every product).
    pending_matches = Product.objects.filter(Q(id__in=pending) & current).order_by().values("id")
    return queryset.filter(
        id__in=rows.exclude(product_id__in=pending).union(pending_matches, all=True)
    )
