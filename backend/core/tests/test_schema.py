"""The OpenAPI schema documents the errors the API really answers (core/schema.py): read from
the served `/api/schema/`, and compared with real refusals (a role's 403, a throttle's 429)."""

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from core.roles import VIEWER, assign_role
from core.tests.helpers import forget_counts
from products.models import Product

pytestmark = pytest.mark.django_db

PRODUCT = {"sku": "SCHEMA-1", "name": "Schema", "description": ""}


@pytest.fixture
def schema(api: APIClient) -> dict[str, Any]:
    answer = api.get("/api/schema/", {"format": "json"})
    assert answer.status_code == 200
    document: dict[str, Any] = answer.json()
    return document


@pytest.fixture
def viewer() -> APIClient:
    user = User.objects.create_user(username="vic", password="correct-horse-battery")
    assign_role(user, VIEWER)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.fixture
def one_request_a_minute(settings: Any) -> Iterator[None]:
    """Every user's rate at one request a minute, from empty counts."""
    forget_counts()
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "user": "1/minute"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    yield
    forget_counts()


def resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """`node`, or what its `$ref` names in `schema`."""
    while "$ref" in node:
        _, *path = node["$ref"].split("/")  # "#/components/responses/Forbidden"
        node = schema
        for part in path:
            node = node[part]
    return node


def response(schema: dict[str, Any], method: str, path: str, code: str) -> dict[str, Any]:
    return resolve(schema, schema["paths"][path][method]["responses"][code])


def body_schema(schema: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
    return resolve(schema, answer["content"]["application/json"]["schema"])


def test_a_write_endpoint_documents_403_and_429_with_their_json(schema: dict[str, Any]) -> None:
    responses = schema["paths"]["/api/products/"]["post"]["responses"]
    # 409: a product that the running import is writing (products.views, BEING_IMPORTED).
    assert set(responses) == {"201", "400", "401", "403", "409", "413", "415", "429"}
    for code in ("401", "403", "409", "413", "415", "429"):
        error = body_schema(schema, response(schema, "post", "/api/products/", code))
        assert error["required"] == ["detail"]
        assert error["properties"]["detail"]["type"] == "string"
    too_many = response(schema, "post", "/api/products/", "429")
    assert too_many["headers"]["Retry-After"]["schema"] == {"type": "integer"}
    assert "WWW-Authenticate" in response(schema, "post", "/api/products/", "401")["headers"]
    field_map = body_schema(schema, response(schema, "post", "/api/products/", "400"))
    assert field_map["type"] == "object"
    assert "additionalProperties" in field_map


def test_each_operation_documents_only_the_errors_that_apply(schema: dict[str, Any]) -> None:
    """No body, no 413 or 415; no path parameter or page, no 404; a 409 and a 503 where a view
    gives them."""
    one_product = schema["paths"]["/api/products/{id}/"]["get"]["responses"]
    assert set(one_product) == {"200", "401", "403", "404", "429"}
    apply = schema["paths"]["/api/jobs/{id}/apply/"]["post"]["responses"]
    assert set(apply) == {"202", "401", "403", "404", "409", "410", "429", "503"}
    # A retry may carry options in its body.
    retry = schema["paths"]["/api/jobs/{id}/retry/"]["post"]["responses"]
    assert set(retry) == {"202", "400", "401", "403", "404", "409", "413", "415", "429", "503"}
    # The session's sign-in: anyone may call it (no 401), but not without its CSRF token.
    sign_in = schema["paths"]["/api/auth/session/"]["post"]["responses"]
    assert set(sign_in) == {"200", "400", "403", "413", "415", "429"}


def test_real_refusals_have_the_documented_shape(
    schema: dict[str, Any], api: APIClient, viewer: APIClient, one_request_a_minute: None
) -> None:
    """A viewer's write is refused (403) before any rate counts it; an admin's second write in a
    minute is throttled (429). Both bodies are the documented `Error`, and only the admin's
    first write made a product."""
    documented = body_schema(schema, response(schema, "post", "/api/products/", "403"))

    refused = viewer.post("/api/products/", PRODUCT, format="json")
    assert refused.status_code == 403
    assert set(refused.json()) == set(documented["properties"])
    assert refused.json()["detail"] == (
        "Your role (viewer) may not add products: ask an admin for the editor role."
    )

    assert api.post("/api/products/", PRODUCT, format="json").status_code == 201
    throttled = api.post("/api/products/", {**PRODUCT, "sku": "SCHEMA-2"}, format="json")
    assert throttled.status_code == 429
    assert set(throttled.json()) == set(documented["properties"])
    assert int(throttled["Retry-After"]) > 0
    assert list(Product.objects.values_list("sku", flat=True)) == ["SCHEMA-1"]
