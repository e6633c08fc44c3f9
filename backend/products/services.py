"""Writes to the catalog: one product at a time through the API, with the search table kept in
step, and the bulk operations that the jobs call (delete everything, refresh search after an
import)."""

from typing import Any

import psycopg
from django.db import IntegrityError, transaction
from rest_framework.exceptions import ValidationError

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


def create_product(*, name: str, sku: str, description: str = "", active: bool = True) -> Product:
    product = Product(name=name, sku=sku, description=description, active=active)
    try:
        with transaction.atomic():
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
        with transaction.atomic():
            product.save()
            search.index_product(product)
            emit_event(event_type="product.updated", data=product_data(product))
    except IntegrityError as exc:
        raise duplicate_sku_error(product.sku) from exc
    product.refresh_from_db(fields=["sku_key"])
    return product


def delete_product(*, product: Product) -> None:
    with transaction.atomic():
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
