"""Django serves the dashboard's page at `/` and at each client-side route; the API stays JSON."""

from pathlib import Path

import pytest

INDEX = b'<!doctype html><div id="root"></div><script src="/assets/index-AbCd1234.js"></script>'


@pytest.fixture
def built(settings, tmp_path: Path) -> Path:
    (tmp_path / "index.html").write_bytes(INDEX)
    settings.FRONTEND_DIST = tmp_path
    return tmp_path


@pytest.mark.parametrize("path", ["/", "/products", "/imports", "/webhooks/", "/some/client-route"])
def test_client_routes_answer_the_dashboard_page(client, built, path):
    response = client.get(path)
    assert response.status_code == 200
    assert response.content == INDEX
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert response["Cache-Control"] == "no-cache"


def test_without_a_build_the_page_says_how_to_build_it(client, settings, tmp_path):
    settings.FRONTEND_DIST = tmp_path / "missing"
    response = client.get("/products")
    assert response.status_code == 503
    assert b"The dashboard is not built" in response.content
    assert b"npm run build" in response.content


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/nope/", "/api/products/1/nope/", "/api/"])
def test_unknown_api_paths_stay_json(client, built, path):
    response = client.get(path, HTTP_ACCEPT="application/json")
    assert response["Content-Type"] == "application/json"
    assert response.status_code in {401, 404}


def test_unknown_api_path_is_a_json_404(client, built):
    response = client.get("/api/no-such-thing/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_api_paths_without_a_slash_still_redirect(client, built):
    response = client.get("/api/products")
    assert response.status_code == 301
    assert response["Location"] == "/api/products/"


def test_files_are_not_client_routes(client, built):
    assert client.get("/favicon.ico").status_code == 404
    assert client.get("/assets/index-gone1234.js").status_code == 404


def test_the_page_is_only_read(client, built):
    assert client.post("/products").status_code == 405
    assert client.head("/products").status_code == 200
