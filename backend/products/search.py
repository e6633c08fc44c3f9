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
  own columns (ILIKE) for the few that are: exact for every search that starts after a write
  commits. Only when more than `SEARCH_DELTA_SCAN_LIMIT` products are pending (just after a
  large import) does it read the search table alone, fast but behind the catalog, and say so
  (`search_catching_up`). So it does too when the whole catalog is marked (`WHOLE_CATALOG`): a
  large import marks no product one by one, and the upkeep rebuilds after it.
"""

from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.db.models import Q, QuerySet

from .models import Product, ProductSearch, ProductSearchPending

SEARCHED_FIELDS = ("sku", "name", "description")
PENDING_TABLE = ProductSearchPending._meta.db_table
# The mark that stands for every product (no product has id 0): an import that writes a large
# share of the catalog leaves its products unmarked and marks this instead (`products.bulk`).
WHOLE_CATALOG = 0
# How many products are pending, counted no further than the limit plus one, and whether the
# whole catalog is: in the order of the primary key, so that its mark comes first.
PENDING_SQL = (
    f"SELECT count(*), coalesce(bool_or(product_id = {WHOLE_CATALOG}), false)"
    f" FROM (SELECT product_id FROM {PENDING_TABLE} ORDER BY product_id LIMIT %s) pending"
)


@dataclass(frozen=True)
class SearchState:
    """What a request's searches read: `pending` products, counted up to `delta_limit` + 1, and
    whether the whole catalog is marked."""

    pending: int
    delta_limit: int
    whole_catalog: bool = False

    @property
    def catching_up(self) -> bool:
        """Too many pending products to scan: the search table alone answers, a little behind."""
        return self.whole_catalog or self.pending > self.delta_limit


def state() -> SearchState:
    """The search's state now: one query, asked once per request however many filters it has."""
    limit = int(settings.SEARCH_DELTA_SCAN_LIMIT)
    with connection.cursor() as cursor:
        cursor.execute(PENDING_SQL, [limit + 1])
        row = cursor.fetchone()
    return SearchState(pending=int(row[0]), delta_limit=limit, whole_catalog=bool(row[1]))


def matching(
    queryset: QuerySet[Product],
    term: str,
    fields: tuple[str, ...] = SEARCHED_FIELDS,
    *,
    state: SearchState,
) -> QuerySet[Product]:
    """Products where any of `fields` contains `term`, ignoring case.

    The search table answers for the products whose row is up to date; the pending ones are
    matched on their own columns first, so a write is found (or no longer found) by every search
    that starts after it commits. Then one statement, which lets PostgreSQL join the search
    table's matches in the order of the page (an OR or a UNION of the two sets would make it
    read every match of a frequent term first): either state of a swap, never an error.
    """
    indexed = Q()
    current = Q()
    for field in fields:
        indexed |= Q(**{f"{field}__lower_contains": term})
        current |= Q(**{f"{field}__ilike": term})
    rows = ProductSearch.objects.filter(indexed).values("product_id")
    if state.pending == 0 or state.catching_up:
        return queryset.filter(id__in=rows)
    pending = ProductSearchPending.objects.values("product_id")
    condition = Q(id__in=rows.exclude(product_id__in=pending))
    pending_matches = list(
        Product.objects.filter(Q(id__in=pending) & current).values_list("id", flat=True)
    )
    if pending_matches:
        condition |= Q(id__in=pending_matches)
    return queryset.filter(condition)
