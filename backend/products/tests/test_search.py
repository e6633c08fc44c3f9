"""Search while the catalog changes: writes found at once, applied in batches or by a rebuild
beside the old table, and never a wrong answer or an error meanwhile."""

import threading
import time

import psycopg
import pytest
from django.db import OperationalError, connection, connections
from django.db.models import Value
from django.db.models.functions import Concat
from django.test.utils import CaptureQueriesContext

from core.db import psycopg_params, sqlstate
from products import bulk, search, search_upkeep
from products.models import Product, ProductSearch, SearchIndexState
from products.tasks import sync_search_index
from products.tests.factories import make_product
from products.tests.upkeep import (
    assert_search_table_exact,
    pending_ids,
    search_rows,
    upkeep_paused,
)

LIST = "/api/products/"


def bulk_import(*rows: tuple[str, str, str]) -> list[Product]:
    """Products written in one statement, as an import writes them (the triggers mark them)."""
    return Product.objects.bulk_create(Product(sku=s, name=n, description=d) for s, n, d in rows)


def found(api, term: str, **params: str) -> list[str]:
    response = api.get(LIST, {"search": term, **params})
    assert response.status_code == 200
    return sorted(p["sku"] for p in response.json()["results"])


def table_names() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE tablename LIKE 'products_%'")
        return {row[0] for row in cursor.fetchall()}


@pytest.mark.django_db(transaction=True)
def test_writes_are_found_at_once_and_the_sync_applies_them(api):
    with upkeep_paused():
        created = api.post(LIST, {"sku": "api-1", "name": "Lamp"}, format="json").json()
        assert found(api, "lamp") == ["api-1"]
        assert pending_ids() == {created["id"]}
        assert search_rows() == {}

        response = api.patch(f"{LIST}{created['id']}/", {"name": "Stool"}, format="json")
        assert response.status_code == 200
        assert found(api, "lamp") == []
        assert found(api, "stool") == ["api-1"]

    search_upkeep.sync()
    assert_search_table_exact()
    assert found(api, "stool") == ["api-1"]
    assert found(api, "lamp") == []

    with upkeep_paused():
        response = api.patch(f"{LIST}{created['id']}/", {"name": "Lamp"}, format="json")
        assert response.status_code == 200
        # The search row still says "stool": the pending mark overrides it.
        assert search_rows()[created["id"]][1] == "stool"
        assert found(api, "lamp") == ["api-1"]
        assert found(api, "stool") == []
        assert api.delete(f"{LIST}{created['id']}/").status_code == 204
        assert found(api, "lamp") == []

    search_upkeep.sync()
    assert_search_table_exact()


@pytest.mark.django_db(transaction=True)
def test_a_sync_applies_each_kind_of_change_in_batches(monkeypatch):
    """Statements as an import runs them (no task queued): the triggers mark what changed."""
    monkeypatch.setattr(search_upkeep, "SYNC_BATCH_ROWS", 2)
    monkeypatch.setattr(search_upkeep, "REBUILD_SHARE", 1)
    products = bulk_import(*((f"sku-{n}", f"Lamp {n}", "") for n in range(7)))
    result = search_upkeep.sync()
    assert (result.pending, result.written, result.removed, result.rebuilt) == (7, 7, 0, None)
    assert_search_table_exact()

    Product.objects.filter(pk=products[0].pk).update(name="Chair")
    Product.objects.filter(pk=products[1].pk).update(active=False)  # no text changed
    Product.objects.filter(pk=products[2].pk).update(name="LAMP 2")  # only the letter case
    Product.objects.filter(pk=products[3].pk).delete()
    assert pending_ids() == {products[0].pk, products[2].pk, products[3].pk}

    result = search_upkeep.sync()
    assert (result.pending, result.written, result.removed) == (3, 1, 1)
    assert_search_table_exact()


@pytest.mark.django_db(transaction=True)
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
        {"search": "lamp", "ordering": "-name"},
    ],
)
def test_pending_products_and_the_search_table_answer_alike(api, settings, params):
    make_product(sku="Lamp-1", name="Desk Lamp", description="Warm, bright. 50% off")
    make_product(sku="lamp-2", name="Floor LAMP", description="Été", active=False)
    make_product(sku="chair-1", name="Chair", description="no lamp included")
    make_product(sku="été-3", name="Summer", description="a")
    search_upkeep.sync()
    assert_search_table_exact()

    def skus() -> list[str]:
        response = api.get(LIST, params)
        assert response.status_code == 200
        assert response.json()["search_catching_up"] is False
        return [p["sku"] for p in response.json()["results"]]

    from_the_table = skus()
    assert from_the_table  # every query above matches something
    with upkeep_paused():
        with connection.cursor() as cursor:  # every product pending, the table unchanged
            cursor.execute(
                "INSERT INTO products_productsearchpending (product_id, version)"
                " SELECT id, 0 FROM products_product"
            )
        assert skus() == from_the_table


@pytest.mark.django_db(transaction=True)
def test_past_the_delta_limit_the_table_alone_answers_and_says_so(api, settings):
    settings.SEARCH_DELTA_SCAN_LIMIT = 2
    make_product(sku="old-lamp", name="Lamp")
    search_upkeep.sync()
    with upkeep_paused():
        bulk_import(("new-lamp-1", "Lamp", ""), ("new-lamp-2", "Lamp", ""))
        response = api.get(LIST, {"search": "lamp"})
        assert response.json()["search_catching_up"] is False
        assert found(api, "lamp") == ["new-lamp-1", "new-lamp-2", "old-lamp"]

        bulk_import(("new-lamp-3", "Lamp", ""))  # three pending: over the limit
        response = api.get(LIST, {"search": "lamp"})
        assert response.status_code == 200
        assert response.json()["search_catching_up"] is True
        assert [p["sku"] for p in response.json()["results"]] == ["old-lamp"]
        # Lists without a search say nothing is catching up: they read the catalog itself.
        assert api.get(LIST).json()["search_catching_up"] is False

    search_upkeep.sync()
    response = api.get(LIST, {"search": "lamp"})
    assert response.json()["search_catching_up"] is False
    assert found(api, "lamp") == ["new-lamp-1", "new-lamp-2", "new-lamp-3", "old-lamp"]


@pytest.mark.django_db
def test_a_request_counts_the_pending_products_once(api):
    make_product(sku="lamp-1", name="Lamp", description="warm lamp")
    with CaptureQueriesContext(connection) as queries:
        response = api.get(LIST, {"name": "lamp", "description": "warm", "search": "lamp"})
    assert [p["sku"] for p in response.json()["results"]] == ["lamp-1"]
    counted = [q for q in queries.captured_queries if q["sql"] == search.PENDING_SQL % 1001]
    assert len(counted) == 1


@pytest.mark.django_db(transaction=True)
def test_a_large_change_is_applied_by_a_rebuild_swapped_in(api):
    with upkeep_paused():
        make_product(sku="api-1", name="Lamp")
        bulk_import(
            *((f"bulk-{n}", f"Chair {n}", "no lamp") for n in range(search_upkeep.SYNC_BATCH_ROWS))
        )

    result = search_upkeep.sync()

    assert result.rebuilt is not None
    assert result.rebuilt.swapped
    assert result.rebuilt.rows == result.rebuilt.covered == search_upkeep.SYNC_BATCH_ROWS + 1
    assert result.written == result.removed == 0
    assert_search_table_exact()
    assert SearchIndexState.objects.get().rebuilt_at is not None
    assert len(found(api, "lamp", page_size="100")) == 100
    assert found(api, "chair 4999") == ["bulk-4999"]
    # The swapped-in table is the model's, with its indexes and its primary key's name, and
    # the rebuild's own tables are gone.
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
    assert not {search_upkeep.NEW_TABLE, search_upkeep.COVERED_TABLE} & table_names()
    # The pending table was vacuumed and analyzed: searches plan for it as it is, empty.
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [search.PENDING_TABLE])
        assert cursor.fetchone() == (0,)


@pytest.mark.django_db(transaction=True)
def test_a_second_rebuild_joins_its_marks_on_fresh_statistics():
    """After a rebuild the pending table is analyzed empty; the next rebuild (every product
    renamed) analyzes the marks it copies before its swap joins them, or the join is planned as
    over an empty table: over 466,693 marks it ran for more than ten minutes."""
    rows = search_upkeep.SYNC_BATCH_ROWS + 1
    with upkeep_paused():
        bulk_import(*((f"sku-{n}", f"Chair {n}", "") for n in range(rows)))
    assert search_upkeep.sync().rebuilt is not None
    with upkeep_paused():
        Product.objects.update(name=Concat("name", Value(" v2")))
    build_indexes = search_upkeep._build_indexes
    seen: dict[str, float] = {}

    def look_then_build(cursor) -> None:
        cursor.execute(
            "SELECT relname, reltuples FROM pg_class WHERE relname IN (%s, %s)",
            [search.PENDING_TABLE, search_upkeep.COVERED_TABLE],
        )
        seen.update(cursor.fetchall())
        build_indexes(cursor)

    search_upkeep._build_indexes = look_then_build
    try:
        result = search_upkeep.sync()
    finally:
        search_upkeep._build_indexes = build_indexes

    assert seen == {search.PENDING_TABLE: rows, search_upkeep.COVERED_TABLE: rows}
    assert result.rebuilt is not None
    assert result.rebuilt.covered == rows
    assert_search_table_exact()


def while_indexing(action, after_swap_check=None) -> tuple[search_upkeep.RebuildResult, set[int]]:
    """A rebuild, with `action` run in another thread while it builds its indexes (after its
    copy); and the pending marks just after its swap, before any other upkeep can run, when
    `after_swap_check` runs too."""
    build_indexes, swap_in = search_upkeep._build_indexes, search_upkeep._swap_in
    errors: list[BaseException] = []
    after_swap: set[int] = set()

    def run() -> None:
        try:
            action()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    def build_with_action(cursor) -> None:
        thread = threading.Thread(target=run)
        thread.start()
        thread.join(60)
        build_indexes(cursor)

    def swap_and_look(cursor, generation) -> bool:
        swapped = swap_in(cursor, generation)
        after_swap.update(pending_ids())
        if after_swap_check is not None:
            after_swap_check()
        return swapped

    search_upkeep._build_indexes = build_with_action
    search_upkeep._swap_in = swap_and_look
    try:
        result = search_upkeep.rebuild()
    finally:
        search_upkeep._build_indexes, search_upkeep._swap_in = build_indexes, swap_in
    assert not errors, errors
    return result, after_swap


@pytest.mark.django_db(transaction=True)
def test_a_rebuild_overtaken_by_a_delete_of_everything_is_dropped(api):
    bulk_import(("first", "Lamp", ""))

    def delete_everything() -> None:
        with psycopg.connect(**psycopg_params(), autocommit=True) as conn:
            bulk.delete_all_products(conn)

    result, after_swap = while_indexing(delete_everything)

    assert not result.swapped
    assert after_swap == set()
    assert search_rows() == {}
    assert pending_ids() == set()
    assert found(api, "lamp") == []
    assert not {search_upkeep.NEW_TABLE, search_upkeep.COVERED_TABLE} & table_names()
    make_product(sku="second", name="Lamp")
    assert search_upkeep.sync().written == 1
    assert_search_table_exact()


@pytest.mark.django_db(transaction=True)
def test_a_whole_catalog_mark_made_again_during_a_rebuild_stays_for_the_next(api):
    def large_import(sql: str) -> None:
        """`sql` run as an import of a large share of the catalog runs: unmarked, then the whole
        catalog marked."""
        with psycopg.connect(**psycopg_params()) as conn, conn.transaction():
            conn.execute(bulk.SEARCH_MARKS_OFF_SQL)
            conn.execute(sql)
            conn.execute(bulk.MARK_WHOLE_CATALOG_SQL)

    large_import(
        "INSERT INTO products_product (sku, name, description, active, created_at, updated_at)"
        " VALUES ('first', 'Lamp', '', true, now(), now())"
    )
    assert pending_ids() == {search.WHOLE_CATALOG}

    answers: list[tuple[list[str], bool]] = []

    def search_after_the_swap() -> None:
        answers.append((found(api, "lamp"), search.state().catching_up))

    result, after_swap = while_indexing(
        lambda: large_import("UPDATE products_product SET name = 'Chair'"), search_after_the_swap
    )

    assert result.swapped
    assert after_swap == {search.WHOLE_CATALOG}  # the first import's mark went, the second's not
    # The table is the first import's, and the searches say so.
    assert answers == [(["first"], True)]
    search_upkeep.sync()
    assert_search_table_exact()
    assert found(api, "chair") == ["first"]


@pytest.mark.django_db(transaction=True)
def test_searches_during_rebuilds_see_either_table_never_an_error(api):
    bulk_import(*((f"lamp-{n}", "Lamp", "") for n in range(50)))
    search_upkeep.sync()
    stop = threading.Event()
    answers: list[tuple[int, int]] = []

    def search_all_the_time() -> None:
        try:
            while not stop.is_set():
                response = api.get(LIST, {"search": "lamp"})
                answers.append((response.status_code, response.json().get("count", -1)))
        finally:
            connections.close_all()

    thread = threading.Thread(target=search_all_the_time)
    thread.start()
    rebuilds = 0
    try:
        # At least 5 swaps, and until 20 searches ran among them, however busy the machine is.
        while rebuilds < 5 or (len(answers) < 20 and rebuilds < 100):
            assert search_upkeep.rebuild().swapped
            rebuilds += 1
    finally:
        stop.set()
        thread.join(30)
    assert len(answers) >= 20
    assert set(answers) == {(200, 50)}


@pytest.mark.django_db(transaction=True)
def test_a_sync_finding_another_running_leaves_its_rows_to_it(api):
    """It answers at once instead of waiting in a worker process, and the one running looks
    again once it lets go of the lock, so a write that committed meanwhile is applied."""
    bulk_import(("first", "Lamp", ""))
    applied = threading.Event()
    go_on = threading.Event()
    original = search_upkeep._sync_holding_lock
    calls: list[search_upkeep.SyncResult] = []

    def sync_then_wait():
        result = original()
        calls.append(result)
        if len(calls) == 1:
            applied.set()
            go_on.wait(30)
        return result

    search_upkeep._sync_holding_lock = sync_then_wait
    try:

        def sync_in_thread() -> None:
            try:
                search_upkeep.sync()
            finally:
                connections.close_all()

        thread = threading.Thread(target=sync_in_thread)
        thread.start()
        assert applied.wait(30)
        # Written as an import writes, queuing no sync: no worker of the test run takes it.
        (second,) = bulk_import(("second", "Lamp", ""))
        assert search_upkeep.sync_unless_busy() is None
        assert sync_search_index.apply().get() == {
            "skipped": "another upkeep runs and applies these rows too"
        }
        assert pending_ids() == {second.pk}
        go_on.set()
        thread.join(30)
    finally:
        search_upkeep._sync_holding_lock = original
    # The first sync applied "first"; it looked again and applied "second".
    assert [call.written for call in calls] == [1, 1]
    assert_search_table_exact()


@pytest.mark.django_db(transaction=True)
@pytest.mark.integration
def test_the_live_worker_applies_api_writes_within_seconds(worker, api):
    created = api.post(LIST, {"sku": "worker-lamp", "name": "Lamp"}, format="json")
    assert created.status_code == 201

    deadline = time.monotonic() + 10
    while pending_ids():
        assert time.monotonic() < deadline, "the worker did not sync the search table"
        time.sleep(0.1)
    assert search_rows() == {created.json()["id"]: ("worker-lamp", "lamp", "")}
    assert found(api, "lamp") == ["worker-lamp"]


@pytest.mark.django_db(transaction=True)
def test_the_upkeep_gives_way_to_a_lock_it_would_wait_for():
    """A delete of every product (here a lock of the search table) never waits for the upkeep,
    nor deadlocks with it: the upkeep stops within UPKEEP_LOCK_TIMEOUT_MS, keeps its marks and
    lets go of its lock; the task comes back later."""
    bulk_import(("lamp-1", "Lamp", ""))
    with psycopg.connect(**psycopg_params()) as holder:
        holder.execute(f"LOCK TABLE {ProductSearch._meta.db_table} IN ACCESS EXCLUSIVE MODE")
        started = time.monotonic()
        with pytest.raises(OperationalError) as raised:
            search_upkeep.sync()
        assert time.monotonic() - started < 5
        assert sqlstate(raised.value) == "55P03"
        assert sync_search_index.apply().get() == {
            "skipped": "gave way to a lock; comes back in a few seconds"
        }
        holder.rollback()
    assert len(pending_ids()) == 1
    assert search_upkeep.sync_unless_busy() is not None  # the advisory lock was let go
    assert_search_table_exact()
