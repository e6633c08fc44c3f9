"""The product count stays exact under concurrent writers and readers that fold its deltas."""

import threading

import psycopg
import pytest

from core.db import psycopg_params
from products.counts import product_total
from products.models import Product

pytestmark = pytest.mark.django_db(transaction=True)

INSERT_SQL = (
    "INSERT INTO products_product (name, sku, description, active, created_at, updated_at)"
    " SELECT 'n', %s || '-' || g, '', true, now(), now() FROM generate_series(1, %s) g"
)


def test_the_count_is_exact_after_concurrent_writes_and_folds():
    errors: list[BaseException] = []
    stop = threading.Event()

    def writer(name: str) -> None:
        try:
            with psycopg.connect(**psycopg_params(), autocommit=True) as conn:
                for round_ in range(40):
                    with conn.transaction():
                        conn.execute(INSERT_SQL, [f"{name}-{round_}", 5])
                        if round_ % 3 == 0:  # and a rolled-back statement, which counts nothing
                            conn.execute("SAVEPOINT s")
                            conn.execute(INSERT_SQL, [f"{name}-{round_}-gone", 7])
                            conn.execute("ROLLBACK TO SAVEPOINT s")
                    if round_ % 2 == 0:
                        conn.execute(
                            "DELETE FROM products_product WHERE sku = %s", [f"{name}-{round_}-1"]
                        )
        except BaseException as exc:
            errors.append(exc)

    def folder() -> None:
        try:
            with psycopg.connect(**psycopg_params(), autocommit=True) as conn:
                while not stop.is_set():
                    product_total(conn.cursor())
        except BaseException as exc:
            errors.append(exc)

    writers = [threading.Thread(target=writer, args=(f"w{n}",)) for n in range(4)]
    readers = [threading.Thread(target=folder) for _ in range(2)]
    for thread in writers + readers:
        thread.start()
    for thread in writers:
        thread.join(120)
    stop.set()
    for thread in readers:
        thread.join(30)

    assert not errors, errors
    expected = 4 * (40 * 5 - 20)
    assert Product.objects.count() == expected
    assert product_total() == expected
