import pytest
from django.contrib.auth.models import User

pytestmark = pytest.mark.django_db


def test_token_endpoint_answers_a_token_that_works(anonymous, user):
    response = anonymous.post(
        "/api/auth/token/",
        {"username": "alice", "password": "correct-horse-battery"},
        format="json",
    )
    assert response.status_code == 200
    token = response.json()["token"]
    anonymous.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert anonymous.get("/api/products/").status_code == 200


def test_token_endpoint_refuses_a_wrong_password(anonymous, user):
    response = anonymous.post(
        "/api/auth/token/", {"username": "alice", "password": "wrong"}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["Unable to log in with provided credentials."]}


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/auth/token/", {"username": "alice\nforged line", "password": "s3cret-guess"}),
        ("/api/auth/session/", {"username": "alice\nforged line", "password": "s3cret-guess"}),
    ],
)
def test_a_failed_sign_in_is_logged_without_its_password(anonymous, user, caplog, path, body):
    with caplog.at_level("WARNING", logger="core.sign_in"):
        response = anonymous.post(path, body, format="json", REMOTE_ADDR="127.0.0.9")
    assert response.status_code in (400, 401)
    assert [r.getMessage() for r in caplog.records if r.name == "core.sign_in"] == [
        "sign-in failed for username 'alice\\nforged line' from 127.0.0.9"
    ]
    assert "s3cret-guess" not in caplog.text


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/products/"),
        ("post", "/api/products/"),
        ("get", "/api/products/1/"),
        ("delete", "/api/products/1/"),
        ("get", "/api/products/export/"),
        ("get", "/api/schema/"),
    ],
)
def test_anonymous_requests_get_a_json_401(anonymous, method, path):
    response = getattr(anonymous, method)(path, HTTP_ACCEPT="application/json")
    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication credentials were not provided."}
    assert response["WWW-Authenticate"] == "Token"


def test_a_bad_token_is_a_401(anonymous):
    anonymous.credentials(HTTP_AUTHORIZATION="Token nope")
    response = anonymous.get("/api/products/")
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token."}


def test_session_login_through_the_browsable_api(client, user):
    page = client.get("/api/auth/login/")
    assert page.status_code == 200
    response = client.post(
        "/api/auth/login/",
        {"username": "alice", "password": "correct-horse-battery", "next": "/api/products/"},
    )
    assert response.status_code == 302
    assert client.get("/api/products/").status_code == 200


def test_session_writes_need_the_csrf_token(user):
    from rest_framework.test import APIClient

    client = APIClient(enforce_csrf_checks=True)
    client.login(username="alice", password="correct-horse-battery")
    response = client.post("/api/products/", {"name": "x", "sku": "x"}, format="json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


def test_healthz_is_200_when_database_and_broker_answer(anonymous):
    response = anonymous.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok"}


def test_healthz_is_503_naming_the_broker_when_it_is_down(anonymous, settings):
    from devstack.processes import free_port

    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"
    response = anonymous.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["detail"].startswith("broker: ConnectionError")


def test_ensure_admin_creates_the_account_once(tmp_path, monkeypatch, capsys):
    from django.core.management import call_command

    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.delenv("ADMIN_PASSWORD", raising=False)
    call_command("ensure_admin", "--json")
    first = capsys.readouterr().out
    password = (tmp_path / "admin-password").read_text()
    assert User.objects.get(username="admin").check_password(password)
    call_command("ensure_admin", "--json")
    assert capsys.readouterr().out == first
    assert User.objects.filter(is_superuser=True).count() == 1
