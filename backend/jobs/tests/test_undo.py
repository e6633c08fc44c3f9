"""Reverts over HTTP with the live worker: an import and a bulk delete put back exactly (a
checksum of the whole table), conflicts reported and left, or forced; what an import changed;
before-images pruned after UNDO_KEEP_DAYS."""

import csv
import io
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from django.core.files.storage import default_storage
from django.db import connection
from django.utils import timezone
from rest_framework.authtoken.models import Token

from jobs import undo
from jobs.models import Job, JobChange
from products.models import Product
from products.tests.factories import make_product

from .helpers import upload, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]

CHECKSUM_SQL = (
    "SELECT count(*), md5(coalesce(string_agg(row(id, sku, name, description, active,"
    " created_at, updated_at)::text, ',' ORDER BY id), '')) FROM products_product"
)


def catalog_checksum() -> tuple[int, str]:
    """Every product's every column, as one checksum, and how many."""
    with connection.cursor() as cursor:
        cursor.execute(CHECKSUM_SQL)
        count, digest = cursor.fetchone()
    return count, digest


def run_job(api, body: dict[str, Any]) -> dict[str, Any]:
    job = wait_for(api, body)
    assert job["status"] == "COMPLETED", job
    return job


def revert(api, job: dict[str, Any], **body: Any) -> dict[str, Any]:
    response = api.post(f"/api/jobs/{job['id']}/revert/", body, format="json")
    assert response.status_code == 202, response.json()
    started = response.json()
    assert (started["kind"], started["reverts"]) == ("revert", job["id"])
    return run_job(api, started)


def conflicts_of(api, job: dict[str, Any]) -> list[dict[str, str]]:
    response = api.get(job["errors_url"])
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def changes_csv(live_server_url: str, user, job: dict[str, Any]) -> str:
    """The job's changes as CSV, streamed by the live server (Django's ASGI handler:
    product_importer.asgi), as the user."""
    token, _ = Token.objects.get_or_create(user=user)
    return requests.get(
        f"{live_server_url}{urlsplit(job['changes_csv_url']).path}",
        headers={"Authorization": f"Token {token.key}"},
        timeout=30,
    ).text


@pytest.fixture
def catalog() -> tuple[int, str]:
    """Two products from before the import, one of which it updates; and their checksum."""
    make_product(sku="KEEP-1", name="Kept", description="As it was", active=False)
    make_product(sku="Lamp-1", name="Old lamp", description="Before", active=False)
    return catalog_checksum()


def test_a_reverted_import_leaves_the_catalog_exactly_as_before(api, worker, catalog):
    imported = run_job(
        api,
        upload(api, b"sku,name,description\nLAMP-1,Lamp,Bright\nNEW-1,New,\nNEW-2,Two,x\n").json(),
    )
    assert (imported["created_count"], imported["updated_count"]) == (2, 1)
    assert imported["revertible"] is True
    assert imported["revert_url"].endswith(f"/api/jobs/{imported['id']}/revert/")
    assert imported["revert_until"] is not None
    assert catalog_checksum() != catalog

    reverted = revert(api, imported)

    assert catalog_checksum() == catalog
    assert Product.objects.get(sku_key="lamp-1").sku == "Lamp-1"  # its spelling back
    assert (reverted["deleted_count"], reverted["updated_count"], reverted["created_count"]) == (
        2,
        1,
        0,
    )
    assert (reverted["conflict_count"], reverted["errors_url"]) == (0, None)
    assert reverted["created_by"] == "alice"
    after = api.get(f"/api/jobs/{imported['id']}/").json()
    assert (after["reverted_by"], after["revertible"], after["revert_url"]) == (
        reverted["id"],
        False,
        None,
    )
    again = api.post(f"/api/jobs/{imported['id']}/revert/")
    assert again.status_code == 409
    assert again.json() == {"detail": f"This job was reverted already, by job {reverted['id']}."}


def test_products_changed_since_the_import_are_conflicts_left_as_they_are(api, worker, catalog):
    imported = run_job(
        api, upload(api, b"sku,name\nlamp-1,Lamp\nNEW-1,New\nNEW-2,Two\nNEW-3,Three\n").json()
    )
    new_1 = Product.objects.get(sku="NEW-1")
    assert (
        api.patch(f"/api/products/{new_1.pk}/", {"name": "Edited"}, format="json").status_code
        == 200
    )
    lamp = Product.objects.get(sku_key="lamp-1")
    assert (
        api.patch(f"/api/products/{lamp.pk}/", {"active": True}, format="json").status_code == 200
    )
    assert api.delete(f"/api/products/{Product.objects.get(sku='NEW-2').pk}/").status_code == 204

    reverted = revert(api, imported)

    # NEW-3 deleted (NEW-2 was already gone); the two changed since stay as they are now.
    assert set(Product.objects.values_list("sku", "name", "active")) == {
        ("KEEP-1", "Kept", False),
        ("lamp-1", "Lamp", True),
        ("NEW-1", "Edited", True),
    }
    assert (reverted["conflict_count"], reverted["deleted_count"], reverted["updated_count"]) == (
        2,
        1,
        0,
    )
    assert "2 changed since were left as they are" in reverted["message"]
    assert conflicts_of(api, reverted) == [  # in SKU order
        {"sku": "lamp-1", "reason": "changed since", "action": "update"},
        {"sku": "NEW-1", "reason": "changed since", "action": "create"},
    ]


def test_a_forced_revert_reverts_the_conflicts_too(api, worker, catalog):
    imported = run_job(api, upload(api, b"sku,name\nLAMP-1,Lamp\nNEW-1,New\n").json())
    new_1 = Product.objects.get(sku="NEW-1")
    assert (
        api.patch(f"/api/products/{new_1.pk}/", {"name": "Edited"}, format="json").status_code
        == 200
    )
    lamp = Product.objects.get(sku_key="lamp-1")
    assert api.delete(f"/api/products/{lamp.pk}/").status_code == 204

    reverted = revert(api, imported, force=True)

    # The product deleted since comes back as it was before the import, with its id.
    assert catalog_checksum() == catalog
    assert (reverted["conflict_count"], reverted["deleted_count"], reverted["created_count"]) == (
        2,
        1,
        1,
    )
    assert "2 changed since were reverted anyway (forced)" in reverted["message"]
    assert {row["reason"] for row in conflicts_of(api, reverted)} == {
        "changed since",
        "deleted since",
    }


def test_a_completed_import_lists_what_it_changed(api, worker, catalog, user, live_server_url):
    imported = run_job(
        api, upload(api, b"sku,name,description\nlamp-1,Lamp,\nNEW-1,New,n\n").json()
    )

    page = api.get(imported["changes_url"]).json()

    assert page["count"] == 2
    assert [(c["action"], c["sku"], c["name"], c["previous_name"]) for c in page["results"]] == [
        ("update", "lamp-1", "Lamp", "Old lamp"),
        ("create", "NEW-1", "New", None),
    ]
    assert page["results"][0]["previous_active"] is False
    body = changes_csv(live_server_url, user, imported)
    assert body.splitlines() == [
        "action,sku,name,description,active,previous_sku,previous_name,"
        "previous_description,previous_active",
        "update,lamp-1,Lamp,,false,Lamp-1,Old lamp,Before,false",
        "create,NEW-1,New,n,true,,,,",
    ]


def test_a_reverted_bulk_delete_brings_every_product_back_as_it_was(api, worker, catalog):
    deleted = run_job(api, api.post("/api/products/bulk_delete/").json())
    assert (deleted["deleted_count"], deleted["revertible"]) == (2, True)
    assert Product.objects.count() == 0
    assert default_storage.exists(Job.objects.get(pk=deleted["id"]).undo_file)
    make_product(sku="keep-1", name="Created again")  # since the delete: a conflict

    reverted = revert(api, deleted)

    assert set(Product.objects.values_list("sku", "name")) == {
        ("keep-1", "Created again"),
        ("Lamp-1", "Old lamp"),
    }
    assert (reverted["created_count"], reverted["conflict_count"]) == (1, 1)
    assert conflicts_of(api, reverted) == [
        {"sku": "KEEP-1", "reason": "its SKU was created again since", "action": "delete"}
    ]


def test_a_forced_revert_of_a_bulk_delete_gives_the_table_back_exactly(api, worker, catalog):
    deleted = run_job(api, api.post("/api/products/bulk_delete/").json())
    make_product(sku="keep-1", name="Created again")

    reverted = revert(api, deleted, force=True)

    assert catalog_checksum() == catalog
    assert (reverted["created_count"], reverted["deleted_count"]) == (2, 1)


@pytest.mark.parametrize(
    ("job", "status", "detail"),
    [
        (
            {"kind": "import", "status": "FAILED"},
            409,
            "Only a completed job can be reverted; this one is FAILED.",
        ),
        (
            {"kind": "import", "status": "COMPLETED", "dry_run": True},
            409,
            "Only an import (not a preview) or a delete all can be reverted.",
        ),
        (
            {"kind": "revert", "status": "COMPLETED"},
            409,
            "Only an import (not a preview) or a delete all can be reverted.",
        ),
        (
            {"kind": "import", "status": "COMPLETED"},
            409,
            "This job changed no product: there is nothing to revert.",
        ),
        (
            {"kind": "bulk_delete", "status": "COMPLETED", "deleted_count": 3},
            410,
            "This job's before-images are no longer kept, so it cannot be reverted: they are "
            "kept for 7 days (UNDO_KEEP_DAYS=7), and none when that is 0.",
        ),
    ],
)
def test_what_cannot_be_reverted_says_why_and_queues_nothing(api, job, status, detail):
    target = Job.objects.create(**job)

    response = api.post(f"/api/jobs/{target.pk}/revert/", {"force": True}, format="json")

    assert (response.status_code, response.json()) == (status, {"detail": detail})
    assert not Job.objects.filter(kind=Job.Kind.REVERT, reverts=target).exists()


def test_a_bad_force_is_a_400(api):
    target = Job.objects.create(kind="import", status="COMPLETED", created_count=1)
    response = api.post(f"/api/jobs/{target.pk}/revert/", {"force": "maybe"}, format="json")
    assert (response.status_code, response.json()) == (400, {"force": ["Must be a valid boolean."]})


def test_before_images_are_pruned_after_undo_keep_days(api, worker, catalog):
    imported = run_job(api, upload(api, b"sku,name\nNEW-1,New\n").json())
    deleted = run_job(api, api.post("/api/products/bulk_delete/").json())
    undo_file = Job.objects.get(pk=deleted["id"]).undo_file
    past = timezone.now() - timedelta(seconds=1)
    Job.objects.filter(pk__in=[imported["id"], deleted["id"]]).update(undo_until=past)

    assert undo.prune_expired() == 2

    assert not JobChange.objects.filter(job_id=imported["id"]).exists()
    assert not default_storage.exists(undo_file)
    for job in (imported, deleted):
        body = api.get(f"/api/jobs/{job['id']}/").json()
        assert (body["revertible"], body["revert_until"], body["changes_url"]) == (
            False,
            None,
            None,
        )
        assert api.post(f"/api/jobs/{job['id']}/revert/").status_code == 410
    assert api.get(f"/api/jobs/{imported['id']}/changes/").status_code == 410
    assert undo.prune_expired() == 0


def test_with_undo_keep_days_0_nothing_is_kept_and_nothing_can_be_reverted(api, pg, settings):
    from jobs.kinds import take_turns

    settings.UNDO_KEEP_DAYS = 0
    make_product(sku="A-1")
    imported = Job.objects.create(
        kind=Job.Kind.IMPORT,
        file=default_storage.save("uploads/undo-off.csv", io.BytesIO(b"sku,name\nB-2,B\n")),
        file_name="undo-off.csv",
        options={"on_error": "skip", "update_existing": True, "mapping": None, "profile": None},
    )
    deleted = Job.objects.create(kind=Job.Kind.BULK_DELETE)

    take_turns()  # in this process, with its settings

    imported.refresh_from_db()
    deleted.refresh_from_db()
    assert (imported.status, imported.created_count, deleted.deleted_count) == ("COMPLETED", 1, 2)
    assert not JobChange.objects.filter(job=imported).exists()
    assert (imported.undo_until, deleted.undo_until, deleted.undo_file) == (None, None, "")
    for job in (imported, deleted):
        assert api.get(f"/api/jobs/{job.pk}/").json()["revertible"] is False


def test_an_import_keeps_before_images_of_what_it_updates_and_finds_what_it_created(
    api, worker, user, live_server_url
):
    for number in range(60):
        make_product(sku=f"OLD-{number:03}", name="Old")
    rows = [f"OLD-{n:03},Renamed" for n in range(60)] + [f"NEW-{n:03},New" for n in range(60)]
    imported = run_job(api, upload(api, ("sku,name\n" + "\n".join(rows) + "\n").encode()).json())

    # One before-image for each product it updated, none for those it created.
    assert JobChange.objects.filter(job_id=imported["id"]).count() == 60
    pages = [api.get(imported["changes_url"], {"page": page}).json() for page in (1, 2, 3)]
    assert pages[0]["count"] == 120
    listed = [(c["action"], c["sku"]) for page in pages for c in page["results"]]
    assert listed == [("update", f"OLD-{n:03}") for n in range(60)] + [
        ("create", f"NEW-{n:03}") for n in range(60)
    ]
    assert pages[1]["results"][9]["previous_name"] == "Old"  # page 2 holds the 60th update
    assert pages[1]["results"][10]["previous_name"] is None  # and the first create
    body = changes_csv(live_server_url, user, imported)
    lines = body.splitlines()
    assert (len(lines), lines[61]) == (121, "create,NEW-000,New,,true,,,,")
    assert lines[1].startswith("update,OLD-000,Renamed,")
    assert ",OLD-000,Old," in lines[1]
