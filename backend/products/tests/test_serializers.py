"""The product serializer's hand-written reading is DRF's, field for field."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.utils import timezone as django_timezone
from rest_framework import serializers

from products.models import Product
from products.serializers import ProductSerializer
from products.tests.factories import make_product

pytestmark = pytest.mark.django_db


def drf_representation(product: Product) -> dict[str, object]:
    """What DRF's ModelSerializer.to_representation gives for the same fields."""
    return dict(serializers.ModelSerializer.to_representation(ProductSerializer(), product))


def test_a_product_reads_as_drf_reads_it() -> None:
    product = make_product(name='Ünïcode, "quoted"', description="", active=False)
    product.refresh_from_db()

    fast = ProductSerializer(product).data

    assert fast == drf_representation(product)
    assert list(fast) == ProductSerializer.Meta.fields
    assert fast["created_at"].endswith("Z")


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=UTC),
        datetime(2026, 3, 1, 12, 30, tzinfo=UTC),  # no microseconds
        datetime(2026, 3, 1, 12, 30, tzinfo=timezone(timedelta(hours=5))),
    ],
)
def test_times_read_as_drf_reads_them(moment: datetime) -> None:
    product = Product(id=1, name="n", sku="s", description="d", active=True)
    product.created_at = product.updated_at = moment

    assert ProductSerializer(product).data == drf_representation(product)
    with django_timezone.override("Europe/Paris"):
        assert ProductSerializer(product).data == drf_representation(product)


def test_a_page_reads_as_drf_reads_it() -> None:
    products = [make_product() for _ in range(3)]

    page = ProductSerializer(products, many=True).data

    assert list(page) == [drf_representation(product) for product in products]
