"""Deep pages (ADR 18): every page of every order is the rows that plain OFFSET gives."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection

from products.models import Product

pytestmark = pytest.mark.django_db
LIST = "/api/products/"
SIZE = 7
TOTAL = 305  # 44 pages of 7, the last one of 4 rows
PAGES = 44
TABLE = Product._meta.db_table
# What each `?ordering=` means, in SQL written here independently of the code under test.
ORDER_SQL = {
    "id": "id",
    "-id": "id DESC",
    "name": "lower(name), id",
    "-name": "lower(name) DESC, id DESC",
    "sku": "sku_key",
    "-sku": "sku_key DESC",
    "created_at": "created_at, id",
    "-created_at": "created_at DESC, id DESC",
    "updated_at": "updated_at, id",
    "-updated_at": "updated_at DESC, id DESC",
}


@pytest.fixture
def catalog() -> None:
    """305 products whose names tie in any letter case and whose timestamps tie in groups."""
    Product.objects.bulk_create(
        Product(
            sku=f"{'SKU' if n % 2 else 'sku'}-{(n * 37) % TOTAL:03}",
            name=f"{'Lamp' if n % 3 else 'LAMP'} {n % 11}",
            active=n % 5 != 0,
        )
        for n in range(TOTAL)
    )
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with connection.cursor() as cursor:
        # 13 distinct creation times and 9 update times, shuffled against the ids.
        cursor.execute(
            f"UPDATE {TABLE} SET created_at = %s + (id * 7 %% 13) * interval '1 minute',"
            f" updated_at = %s + (id * 5 %% 9) * interval '1 hour'",
            [start, start + timedelta(days=1)],
        )
        cursor.execute(f"ANALYZE {TABLE}")


def expected(ordering: str, where: str = "true") -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM {TABLE} WHERE {where} ORDER BY {ORDER_SQL[ordering]}")
        return [pk for (pk,) in cursor.fetchall()]


def page(api: Any, **params: Any) -> dict[str, Any]:
    response = api.get(LIST, {"page_size": SIZE, **params})
    assert response.status_code == 200, response.json()
    body: dict[str, Any] = response.json()
    return body


def ids(body: dict[str, Any]) -> list[int]:
    return [product["id"] for product in body["results"]]


def link(ordering: str, page_ref: int | str | None, extra: str = "") -> str | None:
    if page_ref is None:
        return None
    tail = "" if page_ref == 1 else f"page={page_ref}&"
    return f"http://testserver/api/products/?{extra}ordering={ordering}&{tail}page_size={SIZE}"


@pytest.mark.parametrize("ordering", list(ORDER_SQL))
def test_every_page_of_every_order_is_what_offset_gives(api, catalog, ordering):
    order = expected(ordering)
    assert len(order) == TOTAL
    for number in range(1, PAGES + 1):
        body = page(api, ordering=ordering, page=number)
        assert ids(body) == order[(number - 1) * SIZE : number * SIZE], number
        assert (body["count"], body["count_exact"], body["page"]) == (TOTAL, True, number)
        assert body["next"] == link(ordering, number + 1 if number < PAGES else None)
        assert body["previous"] == link(ordering, number - 1 if number > 1 else None)
    # `last` is the last page's number; `last-N` the pages before it, with their numbers.
    for ref, number in (("last", PAGES), ("last-1", PAGES - 1), ("last-22", PAGES - 22)):
        body = page(api, ordering=ordering, page=ref)
        assert body["page"] == number
        assert ids(body) == order[(number - 1) * SIZE : number * SIZE]
        assert body["previous"] == link(ordering, number - 1)
    assert len(page(api, ordering=ordering, page="last")["results"]) == TOTAL - (PAGES - 1) * SIZE
    for missing, detail in (
        (str(PAGES + 1), "Invalid page: the list has 44 pages."),
        (f"last-{PAGES}", "Invalid page: the list has fewer pages than that before its last."),
    ):
        response = api.get(LIST, {"ordering": ordering, "page_size": SIZE, "page": missing})
        assert (response.status_code, response.json()) == (404, {"detail": detail})


@pytest.mark.parametrize("ordering", ["name", "-sku", "created_at", "-updated_at"])
def test_an_estimated_list_is_read_from_its_end_by_last_and_the_previous_links(
    api, catalog, settings, ordering
):
    settings.EXACT_COUNT_LIMIT = 20
    order = expected(ordering, where="active")
    assert len(order) == 244
    params = {"active": "true", "ordering": ordering}
    last = page(api, **params, page="last")
    assert (last["count_exact"], last["page"], last["next"]) == (False, None, None)
    assert last["count"] > 20
    # Full pages from the end, down to a first one of what is left (244 = 34 * 7 + 6).
    seen: list[int] = []
    body = last
    for before_last in range(35):
        chunk = order[
            max(0, len(order) - (before_last + 1) * SIZE) : len(order) - before_last * SIZE
        ]
        assert ids(body) == chunk, before_last
        assert body["page"] is None
        ref = (
            None if before_last == 0 else "last" if before_last == 1 else f"last-{before_last - 1}"
        )
        assert body["next"] == link(ordering, ref, extra="active=true&")
        seen = chunk + seen
        if body["previous"] is None:
            break
        assert body["previous"] == link(ordering, f"last-{before_last + 1}", extra="active=true&")
        body = page(api, **params, page=f"last-{before_last + 1}")
    assert before_last == 34
    assert len(ids(body)) == 6
    assert seen == order
    response = api.get(LIST, {**params, "page_size": SIZE, "page": "last-35"})
    assert (response.status_code, response.json()) == (
        404,
        {"detail": "Invalid page: the list has fewer pages than that before its last."},
    )
    # Numbered pages past the prefetched ids still work, and say where they are.
    body = page(api, **params, page=30)
    assert (ids(body), body["page"]) == (order[29 * SIZE : 30 * SIZE], 30)
    assert body["next"] == link(ordering, 31, extra="active=true&")
    body = page(api, **params, page=35)
    assert (ids(body), body["next"]) == (order[34 * SIZE :], None)
    response = api.get(LIST, {**params, "page_size": SIZE, "page": 36})
    assert (response.status_code, response.json()) == (
        404,
        {"detail": 'Invalid page: the list ends before page 36; "last" is its last.'},
    )


def test_sku_and_id_orders_end_at_the_unique_key(api, catalog):
    """`?ordering=sku,name` is the SKU's order: nothing after a unique key can break a tie."""
    assert ids(page(api, ordering="sku,-name")) == expected("sku")[:SIZE]
    assert ids(page(api, ordering="-id,name", page="last")) == expected("-id")[-4:]


def test_the_schema_documents_last_and_the_page_field(api):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    (page_param,) = [
        p for p in schema["paths"]["/api/products/"]["get"]["parameters"] if p["name"] == "page"
    ]
    assert page_param["schema"] == {"type": "string", "pattern": "^([0-9]+|last(-[0-9]+)?)$"}
    assert '"last" for the last page' in page_param["description"]
    page_schema = schema["components"]["schemas"]["PaginatedProductList"]
    assert page_schema["properties"]["page"]["nullable"] is True
    assert {"count", "count_exact", "page", "results"} <= set(page_schema["required"])
