"""The dashboard's JSON sign-in: `/api/auth/session/` with the session cookie and CSRF."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

SESSION = "/api/auth/session/"
ALICE = {"username": "alice", "password": "correct-horse-battery"}


@pytest.fixture
def browser() -> Client:
    """A client that checks CSRF tokens as the real middleware does for a browser."""
    return Client(enforce_csrf_checks=True)


def csrf_token(browser: Client) -> str:
    response = browser.get(SESSION)
    assert response.status_code == 200
    return response.cookies["csrftoken"].value


def test_anonymous_session_is_null_and_sets_the_csrf_cookie(browser):
    response = browser.get(SESSION)
    assert response.status_code == 200
    assert response.json() == {"user": None}
    assert response.cookies["csrftoken"].value


def test_sign_in_then_the_api_works_with_the_session(browser, user):
    token = csrf_token(browser)
    response = browser.post(SESSION, ALICE, content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 200
    assert response.json() == {"user": {"id": user.pk, "username": "alice", "is_staff": False}}
    assert browser.get(SESSION).json()["user"]["username"] == "alice"
    assert browser.get("/api/products/").status_code == 200


def test_sign_in_needs_the_csrf_token(browser, user):
    browser.get(SESSION)
    response = browser.post(SESSION, ALICE, content_type="application/json")
    assert response.status_code == 403
    assert response.json()["detail"].startswith("CSRF Failed")
    assert browser.get(SESSION).json() == {"user": None}


def test_a_wrong_password_is_a_400_in_words(browser, user):
    token = csrf_token(browser)
    response = browser.post(
        SESSION,
        {"username": "alice", "password": "wrong"},
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    )
    assert response.status_code == 400
    assert response.json() == {"detail": "The username or the password is not right."}
    assert browser.get(SESSION).json() == {"user": None}


def test_missing_fields_are_field_errors(browser):
    token = csrf_token(browser)
    response = browser.post(SESSION, {}, content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 400
    assert response.json() == {
        "username": ["This field is required."],
        "password": ["This field is required."],
    }


def test_an_inactive_user_cannot_sign_in(browser, user):
    user.is_active = False
    user.save()
    token = csrf_token(browser)
    response = browser.post(SESSION, ALICE, content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 400


def test_sign_out_ends_the_session(browser, user):
    token = csrf_token(browser)
    browser.post(SESSION, ALICE, content_type="application/json", HTTP_X_CSRFTOKEN=token)
    # Signing in rotates the CSRF token: the dashboard reads the cookie before each write.
    token = browser.cookies["csrftoken"].value
    response = browser.delete(SESSION, HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 204
    assert browser.get(SESSION).json() == {"user": None}
    assert browser.get("/api/products/").status_code == 401


def test_sign_out_needs_the_csrf_token_of_a_signed_in_user(browser, user):
    token = csrf_token(browser)
    browser.post(SESSION, ALICE, content_type="application/json", HTTP_X_CSRFTOKEN=token)
    response = browser.delete(SESSION)
    assert response.status_code == 403
    assert browser.get(SESSION).json()["user"]["username"] == "alice"
