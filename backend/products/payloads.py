"""What other systems are told about a product: the data of its webhook events.

Built here on purpose rather than borrowed from the API serializer, so that a change to the API
does not change what receivers get by accident. Today the two agree field for field, timestamps
in the API's format (ISO 8601, `Z` for UTC); a test holds them together.
"""

from datetime import UTC, datetime
from typing import Any

from .models import Product


def product_data(product: Product) -> dict[str, Any]:
    """A product as its `product.*` events carry it."""
    return {
        "id": product.pk,
        "name": product.name,
        "sku": product.sku,
        "description": product.description,
        "active": product.active,
        "created_at": _timestamp(product.created_at),
        "updated_at": _timestamp(product.updated_at),
    }


def _timestamp(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
