"""Writes to the catalog through the API: one product at a time, search table kept in step."""

import functools
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from rest_framework.exceptions import ValidationError

from webhooks.services import emit_event

from . import search
from .models import Product

if TYPE_CHECKING:
    from .serializers import ProductSerializer


def duplicate_sku_message(sku: str) -> str:
    return f"A product with SKU '{sku}' already exists (SKUs ignore letter case)."


def duplicate_sku_error(sku: str) -> ValidationError:
    return ValidationError({"sku": [duplicate_sku_message(sku)]})


def product_event_data(product: Product) -> dict[str, Any]:
    """A product as webhook events show it: the same fields as the API."""
    return dict(_event_serializer().to_representation(product))


@functools.cache
def _event_serializer() -> "ProductSerializer":
    """One serializer for every event: making one per product costs ten times its use."""
    from .serializers import ProductSerializer  # it imports this module

    return ProductSerializer()


def create_product(*, name: str, sku: str, description: str = "", active: bool = True) -> Product:
    product = Product(name=name, sku=sku, description=description, active=active)
    try:
        with transaction.atomic():
            product.save()
            search.index_product(product)
            emit_event(event_type="product.created", data=product_event_data(product))
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
            emit_event(event_type="product.updated", data=product_event_data(product))
    except IntegrityError as exc:
        raise duplicate_sku_error(product.sku) from exc
    product.refresh_from_db(fields=["sku_key"])
    return product


def delete_product(*, product: Product) -> None:
    with transaction.atomic():
        data = product_event_data(product)
        search.unindex_products([product.pk])
        product.delete()
        emit_event(event_type="product.deleted", data=data)
