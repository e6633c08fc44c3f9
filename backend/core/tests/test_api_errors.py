"""Every error under /api/ is JSON with words, Django's own included; elsewhere Django's pages
stay. Over HTTP to the live server, and in this process for what HTTP cannot reach."""

import pytest
import requests
from django.core.exceptions import PermissionDenied
from django.test import RequestFactory
from rest_framework.authtoken.models import Token

from core.parsers import MAX_JSON_DEPTH, nests_deeper_than
from core.views import api_permission_denied, api_server_error

LOGIN = "/api/auth/login/"
CSRF_COOKIE = {"csrftoken": "k" * 32}


@pytest.fixture
def token(user) -> str:
    key: str = Token.objects.get_or_create(user=user)[0].key
    return key


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
class TestOverHttp:
    def test_a_host_the_site_does_not_serve_is_a_400_in_json(self, live_server_url):
        response = requests.get(
            f"{live_server_url}/api/products/", headers={"Host": "evil.example"}, timeout=10
        )
        assert response.status_code == 400
        assert response.json() == {
            "detail": "Bad request: this site does not answer to that Host header."
        }

    def test_outside_the_api_django_keeps_its_page(self, live_server_url):
        response = requests.get(
            f"{live_server_url}/admin/login/", headers={"Host": "evil.example"}, timeout=10
        )
        assert response.status_code == 400
        assert response.headers["content-type"].startswith("text/html")

    def test_form_fields_over_djangos_limit_are_a_413_in_json(self, live_server_url, token):
        response = requests.post(
            f"{live_server_url}/api/products/upload/",
            data={"note": "x" * 3_000_000},
            files={"file": ("catalog.csv", b"sku,name\na,b\n")},
            headers={"Authorization": f"Token {token}"},
            timeout=30,
        )
        assert response.status_code == 413
        assert response.json() == {
            "detail": "The request's form fields are larger than the limit of 2,621,440 bytes."
        }

    def test_too_many_form_fields_are_a_400_in_json(self, live_server_url):
        response = requests.post(
            f"{live_server_url}{LOGIN}",
            data={f"field{n}": "x" for n in range(1_100)},
            cookies=CSRF_COOKIE,
            timeout=10,
        )
        assert response.status_code == 400
        assert response.json() == {"detail": "Bad request: the form has too many fields or files."}

    def test_a_csrf_failure_is_a_403_in_json(self, live_server_url):
        response = requests.post(
            f"{live_server_url}{LOGIN}", data={"username": "a", "password": "b"}, timeout=10
        )
        assert response.status_code == 403
        assert response.json() == {"detail": "CSRF Failed: CSRF cookie not set."}

    def test_a_method_a_django_view_refuses_is_a_405_in_json(self, live_server_url):
        response = requests.get(f"{live_server_url}/api/auth/logout/", timeout=10)
        assert response.status_code == 405
        assert response.json() == {"detail": 'Method "GET" not allowed.'}
        assert "POST" in response.headers["allow"]

    def test_an_unknown_path_is_a_404_in_json(self, live_server_url):
        response = requests.get(f"{live_server_url}/api/no-such-thing/", timeout=10)
        assert response.status_code == 404
        assert response.json() == {"detail": "Not found."}


def test_djangos_permission_denied_is_a_403_in_json_under_the_api_only():
    factory = RequestFactory()
    response = api_permission_denied(factory.get("/api/products/"), PermissionDenied())
    assert response.status_code == 403
    assert response["Content-Type"] == "application/json"
    assert response.content == b'{"detail": "You do not have permission to perform this action."}'
    page = api_permission_denied(factory.get("/admin/"), PermissionDenied())
    assert page.status_code == 403
    assert page["Content-Type"].startswith("text/html")


def test_a_server_error_is_a_500_in_json():
    response = api_server_error(RequestFactory().get("/api/products/"))
    assert response.status_code == 500
    assert response.content == b'{"detail": "Internal server error."}'


@pytest.mark.django_db
def test_the_json_parser_holds_its_limits_without_the_asgi_guard(api, settings):
    """The test client, as a WSGI server would, reaches Django without `core.body_limits`."""
    settings.MAX_BODY_BYTES = 1000
    response = api.post("/api/products/", {"sku": "a", "name": "x" * 2000}, format="json")
    assert response.status_code == 413
    assert response.json() == {
        "detail": "The request body is larger than the limit of 1,000 bytes."
    }

    deep = b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1)
    response = api.generic("POST", "/api/products/", deep, content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {
        "detail": "JSON parse error - arrays and objects nest more than 32 levels deep."
    }


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        (b'"just a string"', 0),
        (b"[]", 1),
        (b'{"a": [1, {"b": []}]}', 4),
        (b'["[[[[", "{{{", "\\"[[", "\\\\", [1]]', 2),  # brackets in strings do not count
        (b'["never closed [[[[[[', 1),
        (b'["' + b'\\"[' * 300_000, 1),  # escaped quotes do not close the string
        (b"[1]," * 300_000, 1),
        (b"[" * 100_000, 100_000),
    ],
)
def test_nesting_is_counted_in_brackets_outside_strings(text, depth):
    for levels in (0, 1, 2, 3, 4, MAX_JSON_DEPTH):
        assert nests_deeper_than(text, levels) == (depth > levels), levels
