"""Writes to the catalog: one product at a time through the API, with the search table kept in
step, and the bulk operations that the jobs call (delete everything, refresh search after an
import)."""

import contextlib
from collections.abc import Iterator
from typing import Any

import psycopg
from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from rest_framework import status
from rest_framework.exceptions import APIException, ValidationError

from core.db import sqlstate
from webhooks.services import emit_event

from . import bulk, search
from .models import Product
from .payloads import product_data
from .tasks import rebuild_search_index


def duplicate_sku_message(sku: str, *, existing: str | None = None) -> str:
    """`existing` is the taken SKU as written, named when it is spelled otherwise."""
    spelled = f" (as '{existing}')" if existing is not None and existing != sku else ""
    return (
        f"A product with SKU '{sku}' already exists{spelled}: SKUs ignore letter case, "
        "Unicode forms and surrounding spaces."
    )


def duplicate_sku_error(sku: str) -> ValidationError:
    return ValidationError({"sku": [duplicate_sku_message(sku)]})


# A row held by another transaction past API_LOCK_TIMEOUT_MS, or a deadlock that PostgreSQL broke
# by aborting this write (the import goes on).
BUSY_SQLSTATES = {"55P03", "40P01"}
# Retry-After when the running import's progress tells nothing yet.
BUSY_RETRY_SECONDS = 5


class ProductBusy(APIException):
    """409: the product (or its SKU) is held by a running import; `wait` becomes Retry-After."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "being_imported"

    def __init__(self, wait: int) -> None:
        self.wait = wait
        super().__init__(f"This product is being imported; try again in {wait} s.")


@contextlib.contextmanager
def bounded_write() -> Iterator[None]:
    """One write transaction whose lock waits end after API_LOCK_TIMEOUT_MS, as `ProductBusy`:
    an import holds the rows it upserts to its commit, and no write should hang behind it."""
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(f"SET LOCAL lock_timeout = {int(settings.API_LOCK_TIMEOUT_MS)}")
            yield
    except OperationalError as exc:
        if sqlstate(exc) not in BUSY_SQLSTATES:
            raise
        raise ProductBusy(BUSY_RETRY_SECONDS) from exc


def create_product(*, name: str, sku: str, description: str = "", active: bool = True) -> Product:
    product = Product(name=name, sku=sku, description=description, active=active)
    try:
        with bounded_write():
            product.save()
            search.index_product(product)
            emit_event(event_type="product.created", data=product_data(product))
    except IntegrityError as exc:  # a concurrent writer took the SKU after validation
        raise duplicate_sku_error(sku) from exc
    return product


def update_product(*, product: Product, **fields: Any) -> Product:
    for name, value in fields.items():
        setattr(product, name, value)
    try:
        with bounded_write():
            product.save()
            search.index_product(product)
            emit_event(event_type="product.updated", data=product_data(product))
    except IntegrityError as exc:
        raise duplicate_sku_error(product.sku) from exc
    product.refresh_from_db(fields=["sku_key"])
    return product


def delete_product(*, product: Product) -> None:
    with bounded_write():
        data = product_data(product)
        search.unindex_products([product.pk])
        product.delete()
        emit_event(event_type="product.deleted", data=data)


def delete_all_products(*, conn: psycopg.Connection[Any]) -> int:
    """Delete every product in one transaction on `conn`; answers how many there were."""
    return bulk.delete_all_products(conn)


def refresh_search_after_import() -> None:
    """Queue the rebuild of the search table, once an import that marked it stale has committed."""
    rebuild_search_index.delay()


def rebuild_search_now() -> search.RebuildResult:
    """Rebuild the search table in this process (what the queued rebuild does in a worker)."""
    return search.rebuild()
