"""Writes to the catalog: one product at a time through the API, and the bulk operations that
the jobs call (delete everything); after each, the search upkeep is queued for what changed."""

import contextlib
import logging
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from kombu.exceptions import OperationalError as BrokerError
from rest_framework import status
from rest_framework.exceptions import APIException, ValidationError

from core.db import sqlstate
from webhooks.services import emit_event

from . import bulk, search_upkeep
from .models import Product
from .payloads import product_data
from .tasks import sync_search_index

logger = logging.getLogger(__name__)


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
            emit_event(event_type="product.created", data=product_data(product))
            transaction.on_commit(queue_search_sync)
    except IntegrityError as exc:  # a concurrent writer took the SKU after validation
        raise duplicate_sku_error(sku) from exc
    return product


def update_product(*, product: Product, **fields: Any) -> Product:
    for name, value in fields.items():
        setattr(product, name, value)
    try:
        with bounded_write():
            product.save()
            emit_event(event_type="product.updated", data=product_data(product))
            transaction.on_commit(queue_search_sync)
    except IntegrityError as exc:
        raise duplicate_sku_error(product.sku) from exc
    product.refresh_from_db(fields=["sku_key"])
    return product


def delete_product(*, product: Product) -> None:
    with bounded_write():
        data = product_data(product)
        product.delete()
        emit_event(event_type="product.deleted", data=data)
        transaction.on_commit(queue_search_sync)


def delete_all_products(
    *, conn: psycopg.Connection[Any], keep: Callable[[int], None] | None = None
) -> int:
    """Delete every product in one transaction on `conn`; answers how many there were. `keep`
    keeps them first, on `conn`, for a revert (`bulk.delete_all_products`)."""
    return bulk.delete_all_products(conn, keep)


def queue_search_sync() -> None:
    """Queue the search upkeep for the products a committed write marked pending.

    A broker that is away loses nothing: the marks stay, searches read those products from the
    catalog meanwhile, and the next write's sync applies them.
    """
    try:
        sync_search_index.apply_async(retry=False)
    except (BrokerError, OSError) as exc:
        logger.warning("could not queue the search sync: %s", exc)


def sync_search_now() -> search_upkeep.SyncResult:
    """The search upkeep in this process, after any running (what the queued task does)."""
    return search_upkeep.sync()
