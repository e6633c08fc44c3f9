"""Pages of products that stay cheap at 500,000 rows.

Counting every match of a filter costs more than it tells once there are thousands: for a frequent
search term, counting the matches costs about a hundred times showing the first page
(docs/benchmarks.md). So:

- the unfiltered list reads its exact total from `products.counts` (kept by triggers);
- a filtered list fetches the ids of its first `EXACT_COUNT_LIMIT` + 1 matches in order, in one
  query that also yields the page: up to the limit the count is exact, beyond it `count` is the
  planner's estimate and `count_exact` is false;
- pages past the prefetched ids are read with OFFSET, one row more than the page to know if
  there is a next one.

`search_catching_up` is true when the request's filters read the search table alone, a little
behind the catalog, as they do for a few seconds after a large import (`products.search`).
"""

import json
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
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


def estimated_count(queryset: QuerySet[Product]) -> int:
    plan = json.loads(queryset.explain(format="json"))
    return int(plan[0]["Plan"]["Plan Rows"])


class ProductPagination(PageNumberPagination):
    def paginate_queryset(  # type: ignore[override]
        self, queryset: QuerySet[Product], request: Request, view: APIView | None = None
    ) -> list[Product]:
        self.request = request
        self.url = request.build_absolute_uri()
        page_size = self.get_page_size(request) or self.page_size
        self.number = self._page_number(request)
        offset = (self.number - 1) * page_size
        rows: list[Product]
        if not queryset.query.has_filters():
            self.count = product_total()
            self.count_exact = True
            rows = list(queryset[offset : offset + page_size])
            self.has_next = offset + page_size < self.count
        else:
            limit = settings.EXACT_COUNT_LIMIT
            ids = list(queryset.values_list("pk", flat=True)[: limit + 1])
            self.count_exact = len(ids) <= limit
            self.count = len(ids) if self.count_exact else max(len(ids), estimated_count(queryset))
            if self.count_exact or offset + page_size < len(ids):
                page_ids = ids[offset : offset + page_size]
                by_id = queryset.model._default_manager.in_bulk(page_ids)
                rows = [by_id[pk] for pk in page_ids if pk in by_id]
                self.has_next = offset + page_size < len(ids)
            else:
                rows = list(queryset[offset : offset + page_size + 1])
                self.has_next = len(rows) > page_size
                rows = rows[:page_size]
        if not rows and self.number > 1:
            raise NotFound("Invalid page.")
        return rows

    def _page_number(self, request: Request) -> int:
        value = request.query_params.get(self.page_query_param, "1")
        if not value.isdigit() or not 1 <= int(value) <= MAX_PAGE:
            raise NotFound("Invalid page.")
        return int(value)

    def get_paginated_response(self, data: Any) -> Response:
        return Response(
            {
                "count": self.count,
                "count_exact": self.count_exact,
                "search_catching_up": self._search_catching_up(),
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "results": data,
            }
        )

    def _search_catching_up(self) -> bool:
        state = getattr(self.request, "search_state", None)
        return bool(state and state.catching_up)

    def get_next_link(self) -> str | None:
        if not self.has_next:
            return None
        return replace_query_param(self.url, self.page_query_param, self.number + 1)

    def get_previous_link(self) -> str | None:
        if self.number <= 1:
            return None
        if self.number == 2:
            return remove_query_param(self.url, self.page_query_param)
        return replace_query_param(self.url, self.page_query_param, self.number - 1)

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        response = super().get_paginated_response_schema(schema)
        response["properties"]["count_exact"] = {
            "type": "boolean",
            "description": "False when `count` is an estimate (more than EXACT_COUNT_LIMIT "
            "matches).",
        }
        response["properties"]["search_catching_up"] = {
            "type": "boolean",
            "description": "True when the search read the search table alone, which is a few "
            "seconds behind the catalog just after a large import.",
        }
        response["required"] += ["count_exact", "search_catching_up"]
        return response
