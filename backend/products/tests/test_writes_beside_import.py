"""API writes while an import holds its rows: the untouched ones go through, the others get a 409.

The import is the real engine on a connection of its own, in a thread, held just before its
commit (its last progress call), when every row it writes is locked by its transaction.
"""

import io
import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from django.db import connection

from jobs.engine import Progress, import_products
from products.counts import product_total
from products.models import Product
from products.tests.factories import make_product

pytestmark = pytest.mark.django_db(transaction=True)


class HeldImport:
    """An import of `csv` that stops before its commit until `release()`."""

    def __init__(self, csv: str) -> None:
        params = connection.get_connection_params()
        self.conn = psycopg.connect(
            **{k: v for k, v in params.items() if k not in ("cursor_factory", "context")},
            autocommit=True,
        )
        self.holding = threading.Event()
        self._release = threading.Event()
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(csv,))

    def _progress(self, progress: Progress) -> None:
        if progress.percent == 100:
            self.holding.set()
            assert self._release.wait(30), "the test never released the import"

    def _run(self, csv: str) -> None:
        try:
            import_products(self.conn, io.BytesIO(csv.encode()), progress=self._progress)
        except BaseException as exc:  # reported by finish()
            self.error = exc

    def __enter__(self) -> "HeldImport":
        self._thread.start()
        assert self.holding.wait(30), "the import never reached its commit"
        return self

    def release(self) -> None:
        self._release.set()
        self._thread.join(30)
        self.conn.close()
        assert self.error is None, self.error

    def __exit__(self, *exc: object) -> None:
        if self._thread.is_alive():
            self.release()


def timed(call: Callable[[], Any]) -> tuple[Any, float]:
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def test_writes_beside_an_import_go_through_or_get_a_409_at_once(api: Any) -> None:
    untouched = make_product(sku="UNTOUCHED-1", name="Untouched")
    imported = make_product(sku="IMPORTED-1", name="Imported")
    csv = "sku,name\nimported-1,Imported again\nNEW-1,New one\n"

    with HeldImport(csv) as held:
        response, seconds = timed(
            lambda: api.patch(f"/api/products/{untouched.pk}/", {"name": "Patched"}, format="json")
        )
        assert response.status_code == 200, response.content
        assert seconds < 1

        response, seconds = timed(
            lambda: api.patch(f"/api/products/{imported.pk}/", {"name": "Mine"}, format="json")
        )
        assert response.status_code == 409, response.content
        assert seconds < 2
        assert int(response["Retry-After"]) > 0
        assert "being imported" in response.json()["detail"]

        # A SKU that the import is creating (in another spelling: the same key).
        response, seconds = timed(
            lambda: api.post("/api/products/", {"sku": "new-1", "name": "Mine"}, format="json")
        )
        assert response.status_code == 409, response.content
        assert seconds < 2

        response = api.delete(f"/api/products/{imported.pk}/")
        assert response.status_code == 409, response.content
        held.release()

    # The import committed whole; the refused writes left nothing; the count is exact.
    assert Product.objects.get(pk=imported.pk).name == "Imported again"
    assert Product.objects.get(pk=untouched.pk).name == "Patched"
    assert list(Product.objects.filter(sku_key="new-1").values_list("name", flat=True)) == [
        "New one"
    ]
    assert product_total() == Product.objects.count() == 3

    response = api.patch(f"/api/products/{imported.pk}/", {"name": "Mine"}, format="json")
    assert response.status_code == 200, response.content
