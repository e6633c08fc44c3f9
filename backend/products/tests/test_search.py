"""The search table: stale after a bulk write, rebuilt and swapped in, never wrong meanwhile."""

import threading
import time
from typing import Any

import psycopg
import pytest
from django.db import connection, connections, transaction

from core.db import psycopg_params
from products import search
from products.models import Product, ProductSearch, SearchIndexState
from products.tasks import rebuild_search_index
from products.tests.factories import make_product


def bulk_import(*rows: tuple[str, str, str]) -> None:
    """What the import engine does: write products without search rows, mark the table stale."""
    with transaction.atomic():
        Product.objects.bulk_create(Product(sku=s, name=n, description=d) for s, n, d in rows)
        search.mark_stale()


def found(api, term: str) -> list[str]:
    response = api.get("/api/products/", {"search": term})
    assert response.status_code == 200
    return sorted(p["sku"] for p in response.json()["results"])


@pytest.mark.django_db(transaction=True)
def test_a_stale_table_still_answers_correctly_and_a_rebuild_makes_it_fresh(api):
    make_product(sku="api-lamp", name="Lamp")
    bulk_import(("bulk-lamp", "Lamp too", ""), ("bulk-chair", "Chair", "no lamp"))
    assert not search.is_fresh()
    assert found(api, "lamp") == ["api-lamp", "bulk-chair", "bulk-lamp"]

    result = search.rebuild()

    assert result.swapped
    assert result.rows == 3
    assert search.is_fresh()
    assert ProductSearch.objects.count() == 3
    assert found(api, "lamp") == ["api-lamp", "bulk-chair", "bulk-lamp"]
    assert found(api, "chair") == ["bulk-chair"]
    # The swapped-in table is the one the model, its index and its primary key name.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = %s ORDER BY indexname",
            [ProductSearch._meta.db_table],
        )
        assert [row[0] for row in cursor.fetchall()] == [
            "product_search_desc_trgm",
            "product_search_name_trgm",
            "product_search_sku_trgm",
            "products_productsearch_pkey",
        ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "params",
    [
        {"search": "lamp"},
        {"search": "ÉTÉ"},
        {"search": "a"},
        {"search": "50%"},
        {"name": "lamp"},
        {"description": "warm, bright"},
        {"sku": "LAMP-1"},
        {"name": "lamp", "active": "false"},
    ],
)
def test_the_stale_path_and_the_search_table_answer_alike(api, params):
    make_product(sku="Lamp-1", name="Desk Lamp", description="Warm, bright. 50% off")
    make_product(sku="lamp-2", name="Floor LAMP", description="Été", active=False)
    make_product(sku="chair-1", name="Chair", description="no lamp included")
    make_product(sku="été-3", name="Summer", description="a")

    def skus() -> list[str]:
        response = api.get("/api/products/", params)
        assert response.status_code == 200
        return [p["sku"] for p in response.json()["results"]]

    fresh = skus()
    search.mark_stale()
    assert not search.is_fresh()
    assert skus() == fresh
    assert fresh  # every query above matches something


@pytest.mark.django_db(transaction=True)
def test_single_writes_during_a_rebuild_are_caught_up_before_the_swap(api):
    doomed = make_product(sku="doomed", name="Lamp")
    changed = make_product(sku="changed", name="Lamp")
    bulk_import(("bulk", "Lamp", ""))
    building = threading.Event()
    original = search._build_new_table

    def build_then_let_writers_in(cursor):
        result = original(cursor)
        building.set()
        time.sleep(1)  # writers commit while the new table is built but not yet swapped
        return result

    def writer() -> None:
        building.wait(30)
        try:
            make_product(sku="added", name="Lamp")
            product = Product.objects.get(sku="changed")
            from products import services

            services.update_product(product=product, name="Chair")
            services.delete_product(product=Product.objects.get(sku="doomed"))
        finally:
            connections.close_all()

    thread = threading.Thread(target=writer)
    thread.start()
    search._build_new_table = build_then_let_writers_in
    try:
        result = search.rebuild()
    finally:
        search._build_new_table = original
        thread.join()

    assert result.swapped
    assert search.is_fresh()
    expected = {
        p.pk: (p.sku.lower(), p.name.lower(), p.description.lower()) for p in Product.objects.all()
    }
    rows = ProductSearch.objects.values_list("product_id", "sku", "name", "description")
    assert {pk: tuple(rest) for pk, *rest in rows} == expected
    assert doomed.pk not in expected
    assert expected[changed.pk][1] == "chair"
    assert found(api, "lamp") == ["added", "bulk"]


@pytest.mark.django_db(transaction=True)
def test_a_rebuild_overtaken_by_an_import_is_dropped(api):
    bulk_import(("first", "Lamp", ""))
    original = search._build_new_table

    def build_then_import(cursor):
        result = original(cursor)
        bulk_import(("second", "Lamp", ""))  # commits after the snapshot was taken
        return result

    search._build_new_table = build_then_import
    try:
        result = search.rebuild()
    finally:
        search._build_new_table = original

    assert not result.swapped
    assert not search.is_fresh()
    assert found(api, "lamp") == ["first", "second"]  # correct, from the slow path
    assert search.rebuild().swapped
    assert found(api, "lamp") == ["first", "second"]
    assert SearchIndexState.objects.get().fresh


@pytest.mark.django_db(transaction=True)
@pytest.mark.integration
def test_the_rebuild_runs_on_the_live_worker(worker, api):
    bulk_import(("worker-lamp", "Lamp", ""))
    assert not search.is_fresh()

    rebuild_search_index.delay()

    deadline = time.monotonic() + 60
    while not search.is_fresh():
        assert time.monotonic() < deadline, "the worker did not rebuild the search table"
        time.sleep(0.2)
    assert list(ProductSearch.objects.values_list("sku", "name", "description")) == [
        ("worker-lamp", "lamp", "")
    ]
    assert found(api, "lamp") == ["worker-lamp"]


@pytest.mark.django_db
def test_a_request_asks_whether_the_table_is_fresh_once(api):
    from django.test.utils import CaptureQueriesContext

    make_product(sku="lamp-1", name="Lamp", description="warm lamp")
    with CaptureQueriesContext(connection) as queries:
        response = api.get(
            "/api/products/", {"name": "lamp", "description": "warm", "search": "lamp"}
        )
    assert [p["sku"] for p in response.json()["results"]] == ["lamp-1"]
    state_table = SearchIndexState._meta.db_table
    assert sum(state_table in q["sql"] for q in queries.captured_queries) == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.integration
def test_a_rebuild_queued_while_another_runs_does_not_hold_a_worker(worker, api):
    """It comes back later instead of waiting in a worker process (where the next import would
    wait behind it), rebuilds once the other is done, and does nothing on a fresh table."""
    from product_importer.celery import app

    bulk_import(("busy-lamp", "Lamp", ""))
    with psycopg.connect(**psycopg_params(), autocommit=True) as other_rebuild:
        other_rebuild.execute("SELECT pg_advisory_lock(%s)", [search.REBUILD_LOCK_KEY])
        rebuild_search_index.delay()
        inspector = app.control.inspect(timeout=1)
        deadline = time.monotonic() + 10
        while not scheduled_rebuilds(inspector):
            assert time.monotonic() < deadline, "the rebuild did not put itself off for later"
            time.sleep(0.2)
        assert not any((inspector.active() or {}).values()), "a rebuild waits in the worker"
        assert not search.is_fresh()
    deadline = time.monotonic() + 60
    while not search.is_fresh():
        assert time.monotonic() < deadline, "the rebuild did not come back once the other ended"
        time.sleep(0.2)
    assert found(api, "lamp") == ["busy-lamp"]
    assert rebuild_search_index.apply().get() == {"skipped": "the search table is fresh"}


def scheduled_rebuilds(inspector) -> list[dict[str, Any]]:
    """The rebuild tasks a worker holds to run later (a countdown)."""
    return [
        entry
        for entries in (inspector.scheduled() or {}).values()
        for entry in entries
        if entry["request"]["name"] == "products.rebuild_search_index"
    ]
