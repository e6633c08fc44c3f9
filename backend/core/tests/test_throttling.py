"""The rate limits, against the real Redis: sign-in per address and per username, jobs per user,
requests per user and per anonymous address, the client's address behind proxies, and what
happens while Redis is away.

The suite's own rates are too high to meet (devstack.pytest_plugin); each test here sets the
rates it tests, and starts from empty counts.
"""

import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from core.roles import ADMIN, EDITOR, assign_role
from core.tests.helpers import forget_counts
from devstack.processes import free_port

pytestmark = pytest.mark.django_db

TOKEN, SESSION = "/api/auth/token/", "/api/auth/session/"
PASSWORD = "correct-horse-battery"


@pytest.fixture(autouse=True)
def rates(settings: Any) -> Iterator[dict[str, str]]:
    """The default rates, and the counts of earlier tests forgotten."""
    rates = {
        "anon": "300/minute",
        "user": "2000/minute",
        "jobs": "60/hour",
        "sign_in_address": "10/minute",
        "sign_in_username": "10/minute",
    }
    forget_counts()
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    # Dozens of sign-ins each: at one PBKDF2 iteration (Django's 1,000,000 cost 0.4 s apiece).
    settings.PASSWORD_HASHERS = [
        "devstack.fast_hasher.FastPBKDF2PasswordHasher",
        *settings.PASSWORD_HASHERS,
    ]
    yield rates
    forget_counts()


def set_rates(settings: Any, **rates: str) -> None:
    current = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**current, **rates},
    }


def sign_in(client: APIClient, username: str, address: str = "192.0.2.1", **headers: Any) -> Any:
    return client.post(
        TOKEN,
        {"username": username, "password": "wrong"},
        format="json",
        REMOTE_ADDR=address,
        **headers,
    )


def assert_throttled(response: Any, words: str, longest: int) -> None:
    assert response.status_code == 429, response.content
    assert 1 <= int(response["Retry-After"]) <= longest
    detail = response.json()["detail"]
    assert detail.startswith(words), detail
    wait = int(response["Retry-After"])
    assert detail.endswith(f"Try again in {wait} second{'' if wait == 1 else 's'}."), detail


def test_the_11th_wrong_password_from_one_address_is_a_429(anonymous, user):
    for n in range(10):
        assert sign_in(anonymous, f"someone-{n}").status_code == 400
    response = sign_in(anonymous, "someone-else")
    assert_throttled(response, "Too many sign-in attempts from your address.", 60)
    # Even the right password, until the minute is over.
    right = anonymous.post(
        TOKEN, {"username": "alice", "password": PASSWORD}, format="json", REMOTE_ADDR="192.0.2.1"
    )
    assert right.status_code == 429
    # Another address is not held back.
    assert sign_in(anonymous, "someone-else", address="192.0.2.2").status_code == 400


def test_the_11th_wrong_password_for_one_username_is_a_429_from_any_address(anonymous, user):
    for n in range(10):
        assert sign_in(anonymous, "alice", address=f"198.51.100.{n}").status_code == 400
    response = sign_in(anonymous, "alice", address="198.51.100.99")
    assert_throttled(response, "Too many sign-in attempts for this username.", 60)
    # In any letter case; and another username from that address is not held back.
    assert sign_in(anonymous, "ALICE", address="198.51.100.98").status_code == 429
    assert sign_in(anonymous, "bob", address="198.51.100.99").status_code == 400


def test_behind_one_proxy_the_address_is_the_one_the_proxy_saw(anonymous, user, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    proxy = "10.0.0.1"

    def from_client(client_address: str, username: str) -> Any:
        # What the client sends is kept; the proxy appends the address it saw.
        forwarded = f"203.0.113.250, {client_address}"
        return sign_in(anonymous, username, address=proxy, HTTP_X_FORWARDED_FOR=forwarded)

    for n in range(10):
        assert from_client("203.0.113.1", f"user-{n}").status_code == 400
    assert from_client("203.0.113.1", "user-x").status_code == 429
    assert from_client("203.0.113.2", "user-x").status_code == 400


def test_without_proxies_x_forwarded_for_is_ignored(anonymous, user):
    for n in range(10):
        response = sign_in(anonymous, f"user-{n}", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")
        assert response.status_code == 400
    response = sign_in(anonymous, "user-x", HTTP_X_FORWARDED_FOR="203.0.113.77")
    assert response.status_code == 429


def test_the_dashboards_sign_in_is_throttled_but_not_its_session_reads(anonymous, user):
    for _ in range(25):
        assert anonymous.get(SESSION, REMOTE_ADDR="192.0.2.9").status_code == 200
    wrong = {"username": "alice", "password": "wrong"}
    for _ in range(10):
        response = anonymous.post(SESSION, wrong, format="json", REMOTE_ADDR="192.0.2.9")
        assert response.status_code == 400
    response = anonymous.post(SESSION, wrong, format="json", REMOTE_ADDR="192.0.2.9")
    assert_throttled(response, "Too many sign-in attempts from your address.", 60)
    assert anonymous.get(SESSION, REMOTE_ADDR="192.0.2.9").status_code == 200


@pytest.mark.parametrize("path", ["/api/auth/login/", "/admin/login/"])
def test_the_html_sign_in_forms_are_throttled_too(path, user):
    browser = Client()
    assert browser.get(path).status_code == 200
    for _ in range(10):
        response = browser.post(path, {"username": "alice", "password": "wrong"})
        assert response.status_code == 200  # the form again, with its error
    response = browser.post(path, {"username": "alice", "password": PASSWORD})
    assert_throttled(response, "Too many sign-in attempts", 60)


def token_client(user: User) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def upload(client: APIClient) -> Any:
    file = ContentFile(b"sku,name\nA-1,Alpha\n", name="catalog.csv")
    return client.post("/api/products/upload/", {"file": file}, format="multipart")


def test_jobs_are_throttled_per_user(settings):
    set_rates(settings, jobs="3/hour")
    editor, other = User.objects.create(username="ed"), User.objects.create(username="ann")
    assign_role(editor, EDITOR)
    assign_role(other, ADMIN)
    client = token_client(editor)
    for _ in range(3):
        assert upload(client).status_code == 202
    response = upload(client)
    assert_throttled(response, "You started too many jobs (imports, deletes, retries)", 3600)
    # Reading goes on; another user starts jobs, and a bulk delete counts with the uploads.
    assert client.get("/api/products/").status_code == 200
    admin = token_client(other)
    assert upload(admin).status_code == 202
    assert upload(admin).status_code == 202
    assert admin.post("/api/products/bulk_delete/").status_code == 202
    assert admin.post("/api/products/bulk_delete/").status_code == 429


def test_a_runaway_script_meets_the_rate_per_user(api, settings):
    set_rates(settings, user="20/minute")
    for _ in range(20):
        assert api.get("/api/products/").status_code == 200
    response = api.get("/api/products/")
    assert_throttled(response, "Too many requests from your account.", 60)


def test_anonymous_requests_have_a_rate_per_address(anonymous, settings):
    set_rates(settings, anon="5/minute")
    for _ in range(5):
        assert anonymous.get(SESSION, REMOTE_ADDR="192.0.2.7").status_code == 200
    response = anonymous.get(SESSION, REMOTE_ADDR="192.0.2.7")
    assert_throttled(response, "Too many requests from your address.", 60)
    assert anonymous.get(SESSION, REMOTE_ADDR="192.0.2.8").status_code == 200


def test_off_turns_a_limit_off(anonymous, user, settings):
    set_rates(settings, sign_in_address="off", sign_in_username="off")
    for _ in range(15):
        assert sign_in(anonymous, "alice").status_code == 400


def test_while_redis_is_away_requests_go_through_and_a_warning_is_logged(
    api, anonymous, settings, caplog
):
    settings.CACHES = {
        "default": {
            **django_settings.CACHES["default"],
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
        }
    }
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="core.throttling"):
        assert api.get("/api/products/").status_code == 200
        assert sign_in(anonymous, "alice").status_code == 400
    assert time.monotonic() - started < 5
    assert "the cache is unreachable" in caplog.text


@pytest.mark.parametrize("value", ["10", "10/fortnight", "ten/minute", "10 per minute"])
def test_a_rate_that_does_not_read_is_refused_at_start(monkeypatch, value):
    from product_importer.settings import env_rate

    monkeypatch.setenv("THROTTLE_JOBS_PER_USER", value)
    with pytest.raises(ImproperlyConfigured, match="THROTTLE_JOBS_PER_USER must be like"):
        env_rate("THROTTLE_JOBS_PER_USER", "60/hour")
