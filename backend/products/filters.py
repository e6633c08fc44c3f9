"""Query parameters of `/api/products/`: filters, `?search=` and `?ordering=`."""

from functools import cached_property
from typing import Any

import django_filters
from django.db.models import F, OrderBy, QuerySet, Value
from django.db.models.functions import Lower

from . import search
from .models import Product
from .search import SearchState
from .sku import SkuKey

# `?ordering=` keys and what they sort by: names and SKUs alphabetically in any letter case.
ORDERINGS: dict[str, OrderBy | F | Lower] = {
    "id": F("id"),
    "name": Lower("name"),
    "sku": F("sku_key"),
    "created_at": F("created_at"),
    "updated_at": F("updated_at"),
}
# Keys that no two products share: a total order by themselves, so nothing after them counts. The
# SKU sorts by `sku_key` alone, which its unique index holds: deep pages skip rows index-only.
UNIQUE_KEYS = frozenset({"id", "sku"})


class ProductOrderingFilter(django_filters.OrderingFilter):
    """`?ordering=name,-created_at`, with the id as the last tie-breaker so pages never overlap.

    The order ends at its first unique key (`id`, `sku`): `?ordering=sku` is `ORDER BY sku_key`.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(fields={key: key for key in ORDERINGS}, **kwargs)

    def filter(self, qs: QuerySet[Any], value: list[str] | None) -> QuerySet[Any]:
        # Empty terms (`?ordering=name,` or `?ordering=,`) pass the field's choices: skip them.
        value = [param for param in value or [] if param]
        if not value:
            return qs
        keys: list[Any] = []
        for param in value:
            key = param.lstrip("-")
            expression = ORDERINGS[key]
            keys.append(expression.desc() if param.startswith("-") else expression.asc())
            if key in UNIQUE_KEYS:
                break
        else:
            keys.append(F("id").desc() if value[-1].startswith("-") else F("id").asc())
        return qs.order_by(*keys)


class ProductFilter(django_filters.FilterSet):
    sku = django_filters.CharFilter(
        method="filter_sku",
        label="SKU (exact, any letter case or Unicode form, spaces trimmed)",
        max_length=255,
    )
    name = django_filters.CharFilter(method="filter_contains", label="Name contains")
    description = django_filters.CharFilter(method="filter_contains", label="Description contains")
    active = django_filters.TypedChoiceFilter(
        choices=[("true", "true"), ("false", "false")],
        coerce=lambda value: value == "true",
        label="Active",
    )
    search = django_filters.CharFilter(
        method="filter_search", label="Search SKU, name and description"
    )
    ordering = ProductOrderingFilter()

    class Meta:
        model = Product
        fields = ["sku", "name", "description", "active"]

    def filter_sku(self, qs: QuerySet[Product], name: str, value: str) -> QuerySet[Product]:
        """The SKU's own identity (`products.sku`), computed by the database: an index lookup."""
        return qs.filter(sku_key=SkuKey(Value(value)))

    def filter_contains(self, qs: QuerySet[Product], name: str, value: str) -> QuerySet[Product]:
        return search.matching(qs, value, fields=(name,), state=self.search_state)

    def filter_search(self, qs: QuerySet[Product], name: str, value: str) -> QuerySet[Product]:
        return search.matching(qs, value, state=self.search_state)

    @cached_property
    def search_state(self) -> SearchState:
        """Asked once per request, and kept on it for the page to tell (`search_catching_up`)."""
        state = search.state()
        if self.request is not None:
            self.request.search_state = state
        return state
