"""Pages of products that stay cheap at 500,000 rows, at either end of any sort order.

Counting every match of a filter costs more than it tells once there are thousands: for a frequent
search term, counting the matches costs about a hundred times showing the first page
(docs/benchmarks.md). So:

- the unfiltered list reads its exact total from `products.counts` (kept by triggers);
- a filtered list fetches the ids of its first `EXACT_COUNT_LIMIT` + 1 matches in order, in one
  query that also yields the page: up to the limit the count is exact, beyond it `count` is the
  planner's estimate and `count_exact` is false.

Deep pages (ADR 18): a page is found by its keys first (`SELECT id ... OFFSET`, or the SKU's key
in the SKU's order: what the order's index holds, so the skip is index-only), then its rows are
read by key. When the total is exact, a page past the middle is read from the other end: the
reversed order (every key flipped), skipping the rows after it, so no page skips more than half
the list. `?page=last` (and `last-1`, `last-2`, ... for the pages before it) reads from the end
even when the total is an estimate; then the page has no number (`page` is null) and its links
count from the end too.

`search_catching_up` is true when the request's filters read the search table alone, a little
behind the catalog, as they do for a few seconds after a large import (`products.search`).
"""

import json
import re
from typing import Any

from django.conf import settings
from django.db.models import F, OrderBy, QuerySet
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param
from rest_framework.views import APIView

from core.pagination import PageNumberPagination

from .counts import product_total
from .models import Product

# Far beyond any catalog, and small enough that its OFFSET fits PostgreSQL's bigint.
MAX_PAGE = 10**9
LAST = "last"
PAGE_RE = re.compile(r"(?P<number>[0-9]+)|last(?:-(?P<before_last>[0-9]+))?")
INVALID_PAGE = (
    'Invalid page: give a page number from 1, "last", or "last-N" for the Nth page before the last.'
)
PAST_THE_END = "Invalid page: the list has {pages} {noun}."
PAST_THE_END_OF_ESTIMATE = 'Invalid page: the list ends before page {number}; "last" is its last.'
BEFORE_THE_START = "Invalid page: the list has fewer pages than that before its last."


def estimated_count(queryset: QuerySet[Product]) -> int:
    plan = json.loads(queryset.explain(format="json"))
    return int(plan[0]["Plan"]["Plan Rows"])


def row_key(queryset: QuerySet[Product]) -> str:
    """The column that names a row in the index of `queryset`'s order: the id, or the SKU's key
    when the order is the SKU's (its unique index holds no id, and needs none)."""
    order = queryset.query.order_by
    sku_order = (
        len(order) == 1
        and isinstance(order[0], OrderBy)
        and isinstance(order[0].expression, F)
        and getattr(order[0].expression, "name", None) == "sku_key"
    )
    return "sku_key" if sku_order else "pk"


def page_keys(queryset: QuerySet[Product], key: str, start: int, stop: int) -> list[Any]:
    """The `key`s of rows `start` to `stop` of `queryset` in its order: the skip is index-only."""
    return list(queryset.values_list(key, flat=True)[start:stop])


def rows_of(queryset: QuerySet[Product], key: str, keys: list[Any]) -> list[Product]:
    """The products of `keys`, in that order (any deleted meanwhile left out)."""
    by_key = queryset.model._default_manager.in_bulk(keys, field_name=key)
    return [by_key[k] for k in keys if k in by_key]


class ProductPagination(PageNumberPagination):
    number: int | None
    before_last: int | None

    def paginate_queryset(  # type: ignore[override]
        self, queryset: QuerySet[Product], request: Request, view: APIView | None = None
    ) -> list[Product]:
        self.request = request
        self.url = request.build_absolute_uri()
        size = self.get_page_size(request) or self.page_size
        number, before_last = self._requested_page(request)
        key = row_key(queryset)
        prefetched: list[Any] | None = None
        if not queryset.query.has_filters():
            self.count = product_total()
            self.count_exact = True
        else:
            limit = settings.EXACT_COUNT_LIMIT
            prefetched = page_keys(queryset, key, 0, limit + 1)
            self.count_exact = len(prefetched) <= limit
            self.count = (
                len(prefetched)
                if self.count_exact
                else max(len(prefetched), estimated_count(queryset))
            )
        if before_last is not None and self.count_exact:
            number = max(1, -(-self.count // size)) - before_last
            if number < 1:
                raise NotFound(BEFORE_THE_START)
            before_last = None
        self.number, self.before_last = number, before_last
        self.has_previous = self.has_next = False
        if before_last is not None:
            keys = self._keys_before_last(queryset, key, before_last, size)
        else:
            assert number is not None
            keys = self._keys_of_number(queryset, key, number, size, prefetched)
        rows = rows_of(queryset, key, keys)
        if not rows and self.number != 1 and self.before_last != 0:
            raise NotFound(self._missing_page(size))
        return rows

    def _missing_page(self, size: int) -> str:
        if self.number is None:
            return BEFORE_THE_START
        if not self.count_exact:
            return PAST_THE_END_OF_ESTIMATE.format(number=self.number)
        pages = max(1, -(-self.count // size))
        return PAST_THE_END.format(pages=pages, noun="page" if pages == 1 else "pages")

    def _requested_page(self, request: Request) -> tuple[int | None, int | None]:
        """`(number, None)` for `?page=N`, `(None, k)` for the kth page before the last."""
        match = PAGE_RE.fullmatch(request.query_params.get(self.page_query_param, "1"))
        if match is None:
            raise NotFound(INVALID_PAGE)
        if match["number"] is not None:
            number = int(match["number"])
            if not 1 <= number <= MAX_PAGE:
                raise NotFound(INVALID_PAGE)
            return number, None
        before_last = int(match["before_last"] or 0)
        # `last-0` is refused: `last` is that page's one address.
        if match["before_last"] is not None and not 1 <= before_last < MAX_PAGE:
            raise NotFound(INVALID_PAGE)
        return None, before_last

    def _keys_of_number(
        self,
        queryset: QuerySet[Product],
        key: str,
        number: int,
        size: int,
        prefetched: list[Any] | None,
    ) -> list[Any]:
        offset = (number - 1) * size
        self.has_previous = number > 1
        if prefetched is not None and (self.count_exact or offset + size < len(prefetched)):
            self.has_next = offset + size < len(prefetched)
            return prefetched[offset : offset + size]
        if self.count_exact:
            # The total is known: read whichever end is nearer.
            self.has_next = offset + size < self.count
            if offset >= self.count:
                return []
            take = min(size, self.count - offset)
            after = self.count - offset - take
            if after < offset:
                return page_keys(queryset.reverse(), key, after, after + take)[::-1]
            return page_keys(queryset, key, offset, offset + take)
        keys = page_keys(queryset, key, offset, offset + size + 1)
        self.has_next = len(keys) > size
        return keys[:size]

    def _keys_before_last(
        self, queryset: QuerySet[Product], key: str, before_last: int, size: int
    ) -> list[Any]:
        """A page counted from the end of a list whose total is an estimate: full pages of `size`
        ending `before_last` pages before the last row."""
        skip = before_last * size
        keys = page_keys(queryset.reverse(), key, skip, skip + size + 1)
        self.has_previous = len(keys) > size
        self.has_next = before_last > 0
        return keys[:size][::-1]

    def get_paginated_response(self, data: Any) -> Response:
        return Response(
            {
                "count": self.count,
                "count_exact": self.count_exact,
                "page": self.number,
                "search_catching_up": self._search_catching_up(),
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "results": data,
            }
        )

    def _link(self, number: int | None = None, before_last: int | None = None) -> str:
        if number == 1:
            return remove_query_param(self.url, self.page_query_param)
        page = (
            str(number)
            if number is not None
            else LAST
            if not before_last
            else f"last-{before_last}"
        )
        return replace_query_param(self.url, self.page_query_param, page)

    def _search_catching_up(self) -> bool:
        state = getattr(self.request, "search_state", None)
        return bool(state and state.catching_up)

    def get_next_link(self) -> str | None:
        if not self.has_next:
            return None
        if self.before_last is not None:
            return self._link(before_last=self.before_last - 1)
        assert self.number is not None
        return self._link(number=self.number + 1)

    def get_previous_link(self) -> str | None:
        if not self.has_previous:
            return None
        if self.before_last is not None:
            return self._link(before_last=self.before_last + 1)
        assert self.number is not None
        return self._link(number=self.number - 1)

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        response = super().get_paginated_response_schema(schema)
        response["properties"]["count_exact"] = {
            "type": "boolean",
            "description": "False when `count` is an estimate (more than EXACT_COUNT_LIMIT "
            "matches).",
        }
        response["properties"]["page"] = {
            "type": "integer",
            "nullable": True,
            "example": 4,
            "description": "This page's number (`?page=last` answers the last page's). Null for "
            "`?page=last` or `last-N` when `count` is an estimate: that page is counted from the "
            "end, and so are its `next` and `previous` links.",
        }
        response["properties"]["search_catching_up"] = {
            "type": "boolean",
            "description": "True when the search read the search table alone, which is a few "
            "seconds behind the catalog just after a large import.",
        }
        response["required"] += ["count_exact", "page", "search_catching_up"]
        return response

    def get_schema_operation_parameters(self, view: APIView) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"] = {"type": "string", "pattern": r"^([0-9]+|last(-[0-9]+)?)$"}
                parameter["description"] = (
                    'A page number from 1; "last" for the last page, "last-N" for the Nth page '
                    "before it (these work when `count` is an estimate too)."
                )
        return parameters
