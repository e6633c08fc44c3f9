"""A user's access and a token's user, cached in the real Redis between requests
(`core.access`, `core.tokens`): no query for them once cached, and every change to a role, a
group's permissions, a user's own permissions, a user or a token seen by the next request."""

from collections.abc import Iterator

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from core.roles import EDITOR, VIEWER, assign_role
from core.tokens import TokenAuthentication
from products.tests.factories import make_product

pytestmark = pytest.mark.django_db

ACCESS_TABLES = ("auth_permission", "auth_group", "auth_user_groups", "auth_user_user_perm")


@pytest.fixture
def viewer() -> User:
    vic = User.objects.create_user(username="vic", password="correct-horse-battery")
    assign_role(vic, VIEWER)
    return vic


@pytest.fixture
def client(viewer: User) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=viewer).key}")
    return api


def tables_read(client: APIClient, method: str, path: str, **kwargs: object) -> tuple[int, str]:
    """(status, the SQL of the request's queries, joined)."""
    with CaptureQueriesContext(connection) as queries:
        response = getattr(client, method)(path, format="json", **kwargs)
    return response.status_code, "\n".join(q["sql"] for q in queries.captured_queries)


def test_a_second_request_reads_neither_token_nor_permissions(client):
    first_status, first = tables_read(client, "get", "/api/products/")
    second_status, second = tables_read(client, "get", "/api/products/")

    assert first_status == second_status == 200
    assert "authtoken_token" in first
    assert "auth_permission" in first
    assert "authtoken_token" not in second
    assert not any(table in second for table in ACCESS_TABLES), second


def test_a_new_role_counts_from_the_next_request(client, viewer):
    product = make_product()
    assert client.get("/api/products/").status_code == 200  # cached as a viewer
    assert client.patch(f"/api/products/{product.pk}/", {"name": "n"}).status_code == 403

    assign_role(User.objects.get(pk=viewer.pk), EDITOR)
    assert client.patch(f"/api/products/{product.pk}/", {"name": "n"}).status_code == 200

    assign_role(User.objects.get(pk=viewer.pk), VIEWER)
    response = client.patch(f"/api/products/{product.pk}/", {"name": "m"})
    assert response.status_code == 403
    assert response.json() == {
        "detail": "Your role (viewer) may not edit products: ask an admin for the editor role."
    }


def test_a_role_left_by_a_group_change_counts_from_the_next_request(client, viewer):
    assert client.get("/api/products/").status_code == 200
    viewers = Group.objects.get(name=VIEWER)

    viewers.user_set.remove(viewer)  # from the group's side
    assert client.get("/api/products/").status_code == 403

    viewers.user_set.add(viewer)
    assert client.get("/api/products/").status_code == 200


def test_a_permission_taken_from_the_role_counts_from_the_next_request(client):
    viewers = Group.objects.get(name=VIEWER)
    view = Permission.objects.get(codename="view_product")
    assert client.get("/api/products/").status_code == 200

    viewers.permissions.remove(view)
    assert client.get("/api/products/").status_code == 403

    view.group_set.add(viewers)  # from the permission's side
    assert client.get("/api/products/").status_code == 200


def test_a_permission_given_to_the_user_counts_from_the_next_request(client, viewer):
    product = make_product()
    assert client.patch(f"/api/products/{product.pk}/", {"name": "n"}).status_code == 403

    viewer.user_permissions.add(Permission.objects.get(codename="change_product"))
    assert client.patch(f"/api/products/{product.pk}/", {"name": "n"}).status_code == 200

    viewer.user_permissions.clear()
    assert client.patch(f"/api/products/{product.pk}/", {"name": "n"}).status_code == 403


def test_a_deleted_role_group_counts_from_the_next_request(client):
    assert client.get("/api/products/").status_code == 200

    Group.objects.get(name=VIEWER).delete()  # the memberships go with it, unsignalled

    response = client.get("/api/products/")
    assert response.status_code == 403
    assert "no role" in response.json()["detail"]


def test_a_deleted_token_is_refused_from_the_next_request(client, viewer):
    assert client.get("/api/products/").status_code == 200

    Token.objects.filter(user=viewer).delete()

    response = client.get("/api/products/")
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token."}


def test_a_deactivated_user_is_refused_from_the_next_request(client, viewer):
    assert client.get("/api/products/").status_code == 200

    viewer.is_active = False
    viewer.save()

    response = client.get("/api/products/")
    assert response.status_code == 401
    assert response.json() == {"detail": "User inactive or deleted."}


def test_the_cached_user_never_holds_or_writes_the_password(client, viewer):
    assert client.get("/api/products/").status_code == 200
    viewer.set_password("a-new-and-different-one")
    viewer.save()
    assert client.get("/api/products/").status_code == 200  # cached again, after the change

    token = Token.objects.get(user=viewer).key
    user, _ = TokenAuthentication().authenticate_credentials(token)
    assert "password" in user.get_deferred_fields()
    user.first_name = "Vic"
    user.save()  # writes the loaded fields only
    stored = User.objects.get(pk=viewer.pk)
    assert stored.first_name == "Vic"
    assert stored.check_password("a-new-and-different-one")


@pytest.fixture
def redis_away() -> Iterator[None]:
    away = {
        "default": {
            "BACKEND": "core.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    with override_settings(CACHES=away):
        yield


def test_while_redis_is_away_access_is_read_from_the_database(client, viewer, redis_away):
    first_status, _ = tables_read(client, "get", "/api/products/")
    assign_role(User.objects.get(pk=viewer.pk), EDITOR)  # its signals cannot reach Redis
    new = {"sku": "x-1", "name": "X"}
    second_status, second = tables_read(client, "post", "/api/products/", data=new)

    assert first_status == 200
    assert second_status == 201
    assert "authtoken_token" in second
    assert "auth_permission" in second


@override_settings(ACCESS_CACHE_SECONDS=0)
def test_with_the_cache_off_every_request_reads_the_database(client):
    client.get("/api/products/")
    status, second = tables_read(client, "get", "/api/products/")

    assert status == 200
    assert "authtoken_token" in second
    assert "auth_permission" in second
