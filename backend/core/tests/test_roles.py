"""Who may call what: every API endpoint (from the URL conf) against every role, and the words.

The matrix is generated: each endpoint DRF finds in the URL conf, each method it answers, each
kind of caller. An endpoint missing from EXPECTED fails `test_every_endpoint_has_a_row`, so a new
one needs a decision here. The calls are real (real PostgreSQL and Redis); the statuses are all
decided before any task would run, so no worker is needed.
"""

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.authtoken.models import Token
from rest_framework.schemas.generators import EndpointEnumerator, is_api_view
from rest_framework.test import APIClient

from core.roles import ADMIN, EDITOR, ROLE_PERMISSIONS, VIEWER, assign_role
from jobs.models import ImportProfile, Job
from products.tests.factories import make_product
from webhooks.models import Delivery, Event, Webhook

pytestmark = pytest.mark.django_db

ANONYMOUS, NO_ROLE = "anonymous", "no role"
# An editor calling an endpoint about a job that someone else (an admin) started.
EDITOR_OTHERS = "editor, another's job"
CALLERS = (ANONYMOUS, NO_ROLE, VIEWER, EDITOR, ADMIN)

# The status each caller gets, in the order of CALLERS, then EDITOR_OTHERS for a job's endpoints.
EXPECTED: dict[tuple[str, str], tuple[int, ...]] = {
    ("GET", "/api/"): (401, 403, 200, 200, 200),
    ("GET", "/api/products/"): (401, 403, 200, 200, 200),
    ("POST", "/api/products/"): (401, 403, 403, 201, 201),
    ("GET", "/api/products/{pk}/"): (401, 403, 200, 200, 200),
    ("PUT", "/api/products/{pk}/"): (401, 403, 403, 200, 200),
    ("PATCH", "/api/products/{pk}/"): (401, 403, 403, 200, 200),
    ("DELETE", "/api/products/{pk}/"): (401, 403, 403, 204, 204),
    ("GET", "/api/products/export/"): (401, 403, 200, 200, 200),
    ("POST", "/api/products/upload/"): (401, 403, 403, 202, 202),
    ("POST", "/api/products/bulk_delete/"): (401, 403, 403, 403, 202),
    ("GET", "/api/products/template.csv"): (401, 403, 200, 200, 200),
    ("GET", "/api/jobs/"): (401, 403, 200, 200, 200),
    ("GET", "/api/jobs/{pk}/"): (401, 403, 200, 200, 200, 200),
    ("POST", "/api/jobs/{pk}/retry/"): (401, 403, 403, 202, 202, 403),
    # The jobs of the matrix are failed imports: permitted, then refused as no completed preview.
    ("POST", "/api/jobs/{pk}/apply/"): (401, 403, 403, 409, 409, 403),
    # Permitted, then refused: a failed job has ended, and only a completed one can be reverted.
    ("POST", "/api/jobs/{pk}/cancel/"): (401, 403, 403, 409, 409, 403),
    ("POST", "/api/jobs/{pk}/revert/"): (401, 403, 403, 409, 409, 403),
    ("GET", "/api/jobs/{pk}/changes/"): (401, 403, 403, 404, 404, 403),
    ("GET", "/api/jobs/{pk}/changes.csv"): (401, 403, 403, 404, 404, 403),
    ("GET", "/api/jobs/{pk}/errors.csv"): (401, 403, 403, 200, 200, 403),
    ("GET", "/api/job/{pk}/status/"): (401, 403, 200, 200, 200, 200),
    ("GET", "/api/job/{pk}/events/"): (401, 403, 200, 200, 200, 200),
    ("GET", "/api/import-profiles/"): (401, 403, 200, 200, 200),
    ("POST", "/api/import-profiles/"): (401, 403, 403, 201, 201),
    ("GET", "/api/import-profiles/{pk}/"): (401, 403, 200, 200, 200),
    ("PUT", "/api/import-profiles/{pk}/"): (401, 403, 403, 200, 200),
    ("PATCH", "/api/import-profiles/{pk}/"): (401, 403, 403, 200, 200),
    ("DELETE", "/api/import-profiles/{pk}/"): (401, 403, 403, 204, 204),
    ("GET", "/api/webhooks/"): (401, 403, 403, 403, 200),
    ("POST", "/api/webhooks/"): (401, 403, 403, 403, 201),
    ("GET", "/api/webhooks/{pk}/"): (401, 403, 403, 403, 200),
    ("PUT", "/api/webhooks/{pk}/"): (401, 403, 403, 403, 200),
    ("PATCH", "/api/webhooks/{pk}/"): (401, 403, 403, 403, 200),
    ("DELETE", "/api/webhooks/{pk}/"): (401, 403, 403, 403, 204),
    ("GET", "/api/webhooks/{pk}/deliveries/"): (401, 403, 403, 403, 200),
    ("POST", "/api/webhooks/{pk}/deliveries/{delivery_id}/redeliver/"): (401, 403, 403, 403, 202),
    ("POST", "/api/webhooks/{pk}/rotate_secret/"): (401, 403, 403, 403, 200),
    ("POST", "/api/webhooks/{pk}/test/"): (401, 403, 403, 403, 200),
    # Open to everyone: signing in (with no credentials here: 400), the session, signing out.
    ("POST", "/api/auth/token/"): (400, 400, 400, 400, 400),
    ("GET", "/api/auth/session/"): (200, 200, 200, 200, 200),
    ("POST", "/api/auth/session/"): (400, 400, 400, 400, 400),
    ("DELETE", "/api/auth/session/"): (204, 204, 204, 204, 204),
    # The API's description: anyone signed in.
    ("GET", "/api/schema/"): (401, 200, 200, 200, 200),
    ("GET", "/api/docs/"): (401, 200, 200, 200, 200),
}
# Paths under /api/ that are plain Django views, not DRF's: the browsable API's HTML sign-in
# forms (under the sign-in throttles, core/sign_in.py).
PLAIN_DJANGO_VIEWS = {"api/auth/login/", "api/auth/logout/"}

BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/api/products/"): {"sku": "NEW-1", "name": "New"},
    ("PUT", "/api/products/{pk}/"): {"sku": "MINE-1", "name": "Renamed"},
    ("PATCH", "/api/products/{pk}/"): {"name": "Renamed"},
    ("POST", "/api/webhooks/"): {"url": "http://127.0.0.1:9/new", "events": ["product.created"]},
    ("PUT", "/api/webhooks/{pk}/"): {"url": "http://127.0.0.1:9/put", "events": ["import.failed"]},
    ("PATCH", "/api/webhooks/{pk}/"): {"description": "changed"},
    ("POST", "/api/import-profiles/"): {"name": "Shop export", "mapping": {"Item Code": "sku"}},
    ("PUT", "/api/import-profiles/{pk}/"): {"name": "Renamed", "on_error": "abort"},
    ("PATCH", "/api/import-profiles/{pk}/"): {"update_existing": False},
}


class AllEndpoints(EndpointEnumerator):
    """DRF's list of API endpoints, with those left out of the schema (the API's index), but
    not the format-suffixed copies of each (`/api/products.json`)."""

    def should_include_endpoint(self, path: str, callback: Any) -> bool:
        return is_api_view(callback) and "{format}" not in path


def api_endpoints() -> list[tuple[str, str]]:
    return sorted({(method, path) for path, method, _ in AllEndpoints().get_api_endpoints()})


def plain_views_under_api(patterns: list[Any], prefix: str = "") -> set[str]:
    found = set()
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            found |= plain_views_under_api(pattern.url_patterns, route)
        elif (
            isinstance(pattern, URLPattern)
            and route.startswith("api/")
            and not is_api_view(pattern.callback)
        ):
            found.add(route)
    return found


def cases() -> list[Any]:
    params = []
    for endpoint in api_endpoints():
        callers = CALLERS + ((EDITOR_OTHERS,) if "/job" in endpoint[1] else ())
        for caller in callers:
            method, path = endpoint
            params.append(pytest.param(method, path, caller, id=f"{method} {path} as {caller}"))
    return params


def test_every_endpoint_has_a_row():
    assert api_endpoints() == sorted(EXPECTED), "a new endpoint: decide who may call it here"
    assert plain_views_under_api(get_resolver().url_patterns) == PLAIN_DJANGO_VIEWS


def test_the_role_groups_hold_the_table():
    for name, permissions in ROLE_PERMISSIONS.items():
        group = Group.objects.get(name=name)
        held = {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()}
        assert held == permissions, name


def make_user(name: str, role: str | None) -> User:
    user = User.objects.create(username=name)
    if role:
        assign_role(user, role)
    return user


def client_for(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def failed_import(owner: User) -> Job:
    """A failed import of `owner`'s, with its upload kept (so it can be retried) and a report."""
    job = Job.objects.create(
        kind=Job.Kind.IMPORT,
        status=Job.Status.FAILED,
        created_by=owner,
        created_by_name=owner.username,
        file_name="c.csv",
    )
    job.file = default_storage.save(f"uploads/{job.pk}.csv", ContentFile(b"sku,name\nA-1,A\n"))
    job.errors_file = default_storage.save(
        f"errors/{job.pk}.csv", ContentFile(b"line,reason,fields\n3,No SKU,\n")
    )
    job.save()
    return job


@pytest.fixture
def world() -> Iterator[dict[str, Any]]:
    """A product, a webhook with a finished delivery, an editor's job and an admin's."""
    editor, admin = make_user("ed", EDITOR), make_user("ada", ADMIN)
    webhook = Webhook.objects.create(url="http://127.0.0.1:9/hook", events=["product.created"])
    event = Event.objects.create(type="product.created", message_id="msg_1", body="{}")
    delivery = Delivery.objects.create(
        webhook=webhook, event=event, status=Delivery.Status.FAILED, attempts=8
    )
    world: dict[str, Any] = {
        "users": {
            ANONYMOUS: None,
            NO_ROLE: make_user("nobody", None),
            VIEWER: make_user("vi", VIEWER),
            EDITOR: editor,
            ADMIN: admin,
            EDITOR_OTHERS: editor,
        },
        "product": make_product(sku="MINE-1").pk,
        "import-profile": ImportProfile.objects.create(name="Spreadsheet").pk,
        "webhook": webhook.pk,
        "delivery": delivery.pk,
        "jobs": {EDITOR: failed_import(editor), EDITOR_OTHERS: failed_import(admin)},
    }
    yield world
    for job in world["jobs"].values():
        default_storage.delete(job.file)
        default_storage.delete(job.errors_file)


def concrete(path: str, caller: str, world: dict[str, Any]) -> str:
    job = world["jobs"][EDITOR_OTHERS if caller == EDITOR_OTHERS else EDITOR]
    if path.startswith("/api/job"):
        return path.replace("{pk}", str(job.pk))
    key = next(
        (name for name in ("webhook", "import-profile") if path.startswith(f"/api/{name}s/")),
        "product",
    )
    return path.replace("{pk}", str(world[key])).replace("{delivery_id}", str(world["delivery"]))


@pytest.mark.parametrize(("method", "path", "caller"), cases())
def test_role_matrix(method, path, caller, world):
    expected = EXPECTED[(method, path)]
    status = expected[-1] if caller == EDITOR_OTHERS else expected[CALLERS.index(caller)]
    client = client_for(world["users"][caller])
    url = concrete(path, caller, world)
    if path == "/api/products/upload/":
        file = ContentFile(b"sku,name\nUP-1,Uploaded\n", name="catalog.csv")
        response = client.post(url, {"file": file}, format="multipart")
    else:
        response = getattr(client, method.lower())(url, BODIES.get((method, path)), format="json")
    response.close()  # a file's answer (errors.csv) holds the file open
    assert response.status_code == status, getattr(response, "data", response)
    if status in (401, 403):
        assert response.data["detail"], "a refusal says why"  # (the events view answers SSE)


def test_a_refusal_names_the_role_and_the_role_that_would_do(world):
    viewer = client_for(world["users"][VIEWER])
    response = viewer.post("/api/products/bulk_delete/")
    assert response.json() == {
        "detail": "Only an admin may delete all products; your role is viewer."
    }
    response = viewer.post(
        "/api/products/upload/", {"file": ContentFile(b"sku,name\n", name="c.csv")}
    )
    assert response.status_code == 403
    assert response.json() == {
        "detail": "Your role (viewer) may not import: ask an admin for the editor role."
    }
    nobody = client_for(world["users"][NO_ROLE])
    assert nobody.get("/api/products/").json() == {
        "detail": "Your account has no role, so it may not read products: ask an admin for the "
        "viewer role."
    }


def test_an_editor_may_not_act_on_another_users_job(world):
    editor = client_for(world["users"][EDITOR])
    others = world["jobs"][EDITOR_OTHERS]
    response = editor.post(f"/api/jobs/{others.pk}/retry/")
    assert response.status_code == 403
    assert response.json() == {
        "detail": "Only an admin, or the user who started it, may retry this job."
    }
    others.refresh_from_db()
    assert others.status == Job.Status.FAILED  # nothing was queued
    response = editor.get(f"/api/jobs/{others.pk}/errors.csv")
    assert response.json() == {
        "detail": "Only an admin, or the user who started it, may download this job's error report."
    }
    # The job's state itself is for anyone with a role.
    assert editor.get(f"/api/job/{others.pk}/status/").json()["created_by"] == "ada"


def test_jobs_remember_who_started_them(world):
    editor = world["users"][EDITOR]
    admin = client_for(world["users"][ADMIN])
    response = client_for(editor).post(
        "/api/products/upload/", {"file": ContentFile(b"sku,name\nA,B\n", name="c.csv")}
    )
    assert response.status_code == 202
    assert response.json()["created_by"] == "ed"
    assert Job.objects.get(pk=response.json()["id"]).created_by == editor
    bulk = admin.post("/api/products/bulk_delete/").json()
    assert bulk["created_by"] == "ada"
    assert Job.objects.get(pk=bulk["id"]).created_by == world["users"][ADMIN]
    # The name stays when the user goes; the role checks treat the job as nobody's then.
    editor.delete()
    assert admin.get(f"/api/jobs/{response.json()['id']}/").json()["created_by"] == "ed"


def test_a_job_without_a_creator_is_an_admins_to_act_on(world):
    job = failed_import(world["users"][ADMIN])
    Job.objects.filter(pk=job.pk).update(created_by=None)
    editor = client_for(world["users"][EDITOR])
    assert editor.post(f"/api/jobs/{job.pk}/retry/").status_code == 403
    assert editor.get(f"/api/jobs/{job.pk}/errors.csv").status_code == 403
    assert (
        client_for(world["users"][ADMIN]).get(f"/api/jobs/{job.pk}/errors.csv").status_code == 200
    )
    default_storage.delete(job.file)
    default_storage.delete(job.errors_file)


def test_a_superuser_is_an_admin_without_the_group():
    root = User.objects.create_superuser("root", password=None)
    assert not root.groups.exists()
    response = client_for(root).post("/api/products/bulk_delete/")
    assert response.status_code == 202


def test_the_options_of_an_endpoint_list_only_the_actions_the_role_may_take(world):
    viewer = client_for(world["users"][VIEWER])
    editor = client_for(world["users"][EDITOR])
    assert "actions" not in viewer.options("/api/products/").json()
    assert "POST" in editor.options("/api/products/").json()["actions"]


def test_an_unknown_job_is_a_404_for_anyone_with_a_role(world):
    viewer = client_for(world["users"][VIEWER])
    assert viewer.get(f"/api/job/{uuid.uuid4()}/status/").status_code == 404
    assert viewer.get(f"/api/jobs/{uuid.uuid4()}/errors.csv").status_code == 404


def test_access_follows_the_permissions_a_role_bundles(world):
    """A permission given to a user by hand works too, as Django's always do."""
    nobody = world["users"][NO_ROLE]
    nobody.user_permissions.add(Permission.objects.get(codename="view_product"))
    assert client_for(nobody).get("/api/products/").status_code == 200
