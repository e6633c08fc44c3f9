"""CSV export through the real ASGI server, where the response is streamed."""

import csv
import io

import pytest
import requests
from rest_framework.authtoken.models import Token

from products.export import CHUNK_ROWS
from products.tests.factories import make_product

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]


@pytest.fixture
def auth(user) -> dict[str, str]:
    token, _ = Token.objects.get_or_create(user=user)
    return {"Authorization": f"Token {token.key}"}


def export(url: str, auth: dict[str, str], **params: str) -> list[list[str]]:
    response = requests.get(f"{url}/api/products/export/", params=params, headers=auth, timeout=30)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv"
    assert response.headers["Content-Disposition"] == 'attachment; filename="products.csv"'
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_export_streams_filtered_products_with_formulas_defused(live_server_url, auth):
    make_product(sku="=cmd", name="+SUM(A1)", description='@x, "quoted"\nsecond line')
    make_product(sku="-lamp", name="Lamp", description="plain", active=False)
    make_product(sku="chair", name="Chair", description="plain")

    rows = export(live_server_url, auth, search="lamp")
    assert rows[0] == ["sku", "name", "description", "active", "created_at", "updated_at"]
    assert [r[:4] for r in rows[1:]] == [["'-lamp", "Lamp", "plain", "false"]]

    rows = export(live_server_url, auth, ordering="-id")
    assert [r[:4] for r in rows[1:]] == [
        ["'=cmd", "'+SUM(A1)", '\'@x, "quoted"\nsecond line', "true"],
        ["'-lamp", "Lamp", "plain", "false"],
        ["chair", "Chair", "plain", "true"],
    ]


def test_export_pages_through_more_than_one_chunk(live_server_url, auth):
    from products.models import Product

    Product.objects.bulk_create(
        Product(sku=f"bulk-{n:05}", name="Bulk", description="") for n in range(CHUNK_ROWS + 7)
    )
    rows = export(live_server_url, auth)
    assert len(rows) == 1 + CHUNK_ROWS + 7
    assert [r[0] for r in rows[1:]] == [f"bulk-{n:05}" for n in range(CHUNK_ROWS + 7)]


def test_export_needs_authentication(live_server_url):
    response = requests.get(f"{live_server_url}/api/products/export/", timeout=10)
    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication credentials were not provided."}
