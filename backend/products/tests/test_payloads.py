"""The webhook data of a product is built on its own, and agrees with the API field for field."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from products.models import Product
from products.payloads import product_data
from products.serializers import ProductSerializer

from .factories import make_product

pytestmark = pytest.mark.django_db


def test_a_products_event_data_is_what_the_api_shows():
    product = make_product(name="Lamp", sku="Lamp-1", description="Warm, 2 W", active=False)
    product.refresh_from_db()

    assert product_data(product) == ProductSerializer(product).data


def test_timestamps_are_in_utc_with_a_z_whatever_the_zone_they_come_in():
    moment = datetime(2026, 12, 2, 4, 30, 15, 123456, tzinfo=UTC)
    product = Product(
        id=7,
        name="n",
        sku="s",
        description="",
        active=True,
        created_at=moment.astimezone(timezone(timedelta(hours=5, minutes=30))),
        updated_at=moment,
    )

    data = product_data(product)

    assert data["created_at"] == data["updated_at"] == "2026-12-02T04:30:15.123456Z"
    assert data == {**ProductSerializer(product).data, "id": 7}
