"""The dashboard's JSON sign-in: `/api/auth/session/` with the session cookie and CSRF."""

import pytest
from django.contrib.auth.models import User
from django.test import Client

from core.roles import ALL_ROLE_PERMISSIONS, EDITOR, VIEWER, assign_role

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
    assert response.json() == {
        "user": {
            "id": user.pk,
            "username": "alice",
            "is_staff": True,
            "role": "admin",
            "permissions": sorted(ALL_ROLE_PERMISSIONS),
        }
    }
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


@pytest.mark.parametrize(
    ("role", "permissions"),
    [
        (VIEWER, ["imports.view_importprofile", "imports.view_job", "products.view_product"]),
        (
            EDITOR,
            [
                "imports.act_on_own_job",
                "imports.add_importprofile",
                "imports.change_importprofile",
                "imports.delete_importprofile",
                "imports.import_products",
                "imports.view_importprofile",
                "imports.view_job",
                "products.add_product",
                "products.change_product",
                "products.delete_product",
                "products.view_product",
            ],
        ),
        (None, []),
    ],
)
def test_the_session_says_the_role_and_what_it_may_do(browser, role, permissions):
    someone = User.objects.create_user(username="sam", password="correct-horse-battery")
    if role:
        assign_role(someone, role)
    token = csrf_token(browser)
    credentials = {"username": "sam", "password": "correct-horse-battery"}
    browser.post(SESSION, credentials, content_type="application/json", HTTP_X_CSRFTOKEN=token)
    session = browser.get(SESSION).json()["user"]
    assert (session["role"], session["permissions"], session["is_staff"]) == (
        role,
        permissions,
        False,
    )
