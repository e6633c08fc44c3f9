"""Look before you import (issue 16) through the API and the live worker: upload options, dry
runs and their changes, apply, expiry, import profiles, retry with a mapping, the template."""

import csv
import io
import json
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from rest_framework.authtoken.models import Token

from jobs import undo
from jobs.models import ImportProfile, Job, JobChange
from products.models import Product
from products.tests.factories import make_product
from webhooks.models import Event

from .helpers import wait_for
from .test_engine_options import table_checksum

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]

UPLOAD = "/api/products/upload/"
JSON_PROBLEM = "Expecting property name enclosed in double quotes"
NOT_AN_OBJECT = 'Give an object from a column of the file to a field, e.g. {"Item Code": "sku"}.'
ONE_OF = "map a column to one of sku, name, description, active, or to null to ignore it."
BOTH = "both map to sku: map one column to each field."


def upload(api, content: bytes, name: str = "catalog.csv", **fields: str):
    return api.post(
        UPLOAD, {"file": SimpleUploadedFile(name, content), **fields}, format="multipart"
    )


def finished(api, content: bytes, **fields: str) -> dict[str, Any]:
    response = upload(api, content, **fields)
    assert response.status_code == 202, response.json()
    return wait_for(api, response.json())


def stored_uploads() -> set[str]:
    return (
        set(default_storage.listdir("uploads")[1]) if default_storage.exists("uploads") else set()
    )


def counts(job: dict[str, Any]) -> tuple[int, ...]:
    names = ("created", "updated", "unchanged", "skipped", "invalid", "duplicate")
    return tuple(job[f"{name}_count"] for name in names)


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"dry_run": "perhaps"}, {"dry_run": ["Must be a valid boolean."]}),
        ({"on_error": "retry"}, {"on_error": ['"retry" is not a valid choice.']}),
        ({"update_existing": "2"}, {"update_existing": ["Must be a valid boolean."]}),
        ({"mapping": "{not json"}, {"mapping": [f"Not valid JSON: {JSON_PROBLEM}."]}),
        ({"mapping": '["sku"]'}, {"mapping": [NOT_AN_OBJECT]}),
        ({"mapping": '{"Code": "price"}'}, {"mapping": [f"'Code' maps to 'price': {ONE_OF}"]}),
        ({"mapping": '{"A": "sku", "B": "sku"}'}, {"mapping": [f"'A' and 'B' {BOTH}"]}),
        ({"mapping": '{"A": ["sku"]}'}, {"mapping": [f"'A' maps to ['sku']: {ONE_OF}"]}),
        ({"profile": "999"}, {"profile": ['Invalid pk "999" - object does not exist.']}),
    ],
)  # fmt: skip
def test_options_that_are_not_valid_get_a_400_naming_the_field(api, fields, error):
    before = stored_uploads()

    response = upload(api, b"sku,name\nA-1,A\n", **fields)

    assert (response.status_code, response.json()) == (400, error)
    assert Job.objects.count() == 0
    assert stored_uploads() == before  # nothing refused is left on disk


def test_a_dry_run_reports_the_change_and_leaves_the_catalog_as_it_was(
    api, worker, user, live_server_url
):
    make_product(sku="LAMP-1", name="Lamp", description="Old", active=False)
    make_product(sku="MUG-2", name="Mug", description="Same")
    before = table_checksum()
    events = Event.objects.count()
    content = b"sku,name,description\nlamp-1,Lamp,New\nMUG-2,Mug,Same\nNEW-3,New,=1+1\n,Bad,\n"

    job = finished(api, content, dry_run="true")

    assert job["status"] == "COMPLETED", job
    assert (job["dry_run"], job["message"]) == (True, "Preview complete")
    assert counts(job) == (1, 1, 1, 0, 1, 0)
    assert job["options"] == {
        "on_error": "skip", "update_existing": True, "mapping": None, "profile": None,
    }  # fmt: skip
    assert job["file_columns"] == ["sku", "name", "description"]
    assert all(job[url] for url in ("errors_url", "changes_url", "apply_url"))
    assert job["preview_expires_at"]
    assert table_checksum() == before
    assert Event.objects.count() == events  # no product event, no import.completed

    page = api.get(job["changes_url"]).json()
    assert (page["count"], page["next"], page["previous"]) == (2, None, None)
    assert page["results"] == [
        {
            "action": "update", "sku": "lamp-1", "name": "Lamp", "description": "New",
            "active": False, "previous_sku": "LAMP-1", "previous_name": "Lamp",
            "previous_description": "Old", "previous_active": False,
        },
        {
            "action": "create", "sku": "NEW-3", "name": "New", "description": "=1+1",
            "active": True, "previous_sku": None, "previous_name": None,
            "previous_description": None, "previous_active": None,
        },
    ]  # fmt: skip
    # Streamed by the live server (Django's ASGI handler: product_importer.asgi).
    token, _ = Token.objects.get_or_create(user=user)
    response = requests.get(
        f"{live_server_url}{urlsplit(job['changes_csv_url']).path}",
        headers={"Authorization": f"Token {token.key}"},
        timeout=30,
    )
    assert response.headers["Content-Type"] == "text/csv"
    assert list(csv.reader(io.StringIO(response.text))) == [
        ["action", "sku", "name", "description", "active", "previous_sku", "previous_name",
         "previous_description", "previous_active"],
        ["update", "lamp-1", "Lamp", "New", "false", "LAMP-1", "Lamp", "Old", "false"],
        ["create", "NEW-3", "New", "'=1+1", "true", "", "", "", ""],
    ]  # fmt: skip


def test_the_changes_page_through_a_large_preview(api, worker):
    content = "sku,name\n" + "".join(f"SKU-{n:04d},Product {n}\n" for n in range(120))

    job = finished(api, content.encode(), dry_run="true")

    third = api.get(job["changes_url"], {"page": 3}).json()
    assert third["count"] == 120
    assert [change["sku"] for change in third["results"]] == [
        f"SKU-{n:04d}" for n in range(100, 120)
    ]
    assert third["next"] is None
    assert third["previous"].endswith("page=2")
    assert api.get(job["changes_url"], {"page": 4}).status_code == 404
    assert api.get(job["changes_url"], {"page": "x"}).status_code == 404


def test_apply_imports_the_preview_once(api, worker, user, live_server_url):
    make_product(sku="LAMP-1", name="Lamp")
    preview = finished(api, b"sku,name\nLAMP-1,Renamed\nMUG-2,Mug\n", dry_run="true")

    response = api.post(preview["apply_url"])

    assert response.status_code == 202
    applied = wait_for(api, response.json())
    assert applied["status"] == "COMPLETED", applied
    assert (applied["source_job"], applied["dry_run"]) == (preview["id"], False)
    assert counts(applied) == counts(preview)
    assert sorted(Product.objects.values_list("sku", "name")) == [
        ("LAMP-1", "Renamed"),
        ("MUG-2", "Mug"),
    ]
    again = api.post(preview["apply_url"])
    assert (again.status_code, again.json()) == (
        409,
        {"detail": f"This preview was applied already as import {applied['id']}."},
    )
    assert api.get(preview["status_url"]).json()["apply_url"] is None
    assert not Job.objects.get(pk=applied["id"]).file  # the import removed the upload
    # Its live stream carries the same JSON, `source_job` as a string.
    token, _ = Token.objects.get_or_create(user=user)
    stream = requests.get(
        f"{live_server_url}{urlsplit(applied['events_url']).path}",
        headers={"Authorization": f"Token {token.key}"},
        timeout=30,
    )
    events = [line for line in stream.text.splitlines() if line.startswith("data: ")]
    assert json.loads(events[-1].removeprefix("data: "))["source_job"] == preview["id"]


def test_only_a_completed_dry_run_can_be_applied(api, worker):
    job = finished(api, b"sku,name\nA-1,A\n")

    response = api.post(f"/api/jobs/{job['id']}/apply/")

    assert (response.status_code, response.json()) == (
        409,
        {"detail": "Only a completed dry run (a preview) can be applied."},
    )
    # What it changed is listed (its before-images), but it cannot be applied.
    assert api.get(job["changes_url"]).json()["count"] == 1
    assert job["apply_url"] is None
    delete = wait_for(api, api.post("/api/products/bulk_delete/").json())
    assert api.get(f"/api/jobs/{delete['id']}/changes/").status_code == 404
    assert delete["changes_url"] is None


def test_an_expired_preview_answers_410_and_is_pruned(api, worker):
    preview = finished(api, b"sku,name\nA-1,A\n", dry_run="true")
    stored = Job.objects.get(pk=preview["id"]).file
    assert default_storage.exists(stored)
    Job.objects.filter(pk=preview["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))

    response = api.post(preview["apply_url"])

    assert response.status_code == 410
    assert response.json()["detail"].startswith("This preview expired")
    assert api.get(preview["changes_url"]).status_code == 410
    assert api.get(preview["status_url"]).json()["changes_url"] is None
    assert undo.prune_expired() == 1
    assert not default_storage.exists(stored)
    assert not JobChange.objects.filter(job_id=preview["id"]).exists()
    assert undo.prune_expired() == 0


def test_a_header_that_needs_a_mapping_fails_then_retries_with_one(api, worker):
    job = finished(api, b"Product Title,Code\nLamp,LAMP-1\n")

    assert job["status"] == "FAILED"
    assert job["needs_mapping"] is True
    assert job["file_columns"] == ["Product Title", "Code"]
    assert job["error_message"] == (
        "Line 1: no column is read as 'sku' (columns: 'Product Title', 'Code'). Map the file's "
        "columns to sku and name (and optionally description and active), then import it again."
    )
    response = api.post(
        f"/api/jobs/{job['id']}/retry/", {"mapping": {"Code": "sku"}}, format="json"
    )
    assert response.status_code == 202
    retried = wait_for(api, response.json())
    assert retried["status"] == "COMPLETED", retried
    assert retried["options"]["mapping"] == {"Code": "sku"}
    assert retried["needs_mapping"] is False
    assert list(Product.objects.values_list("sku", "name")) == [("LAMP-1", "Lamp")]


def test_a_mapping_and_options_ride_beside_the_file(api, worker):
    make_product(sku="LAMP-1", name="Lamp")
    mapping = '{"Item Code": "sku", "Product": "name", "Price": null}'

    job = finished(
        api,
        b"Item Code,Product,Price\nLAMP-1,Changed,3\nMUG-2,Mug,4\n",
        mapping=mapping,
        update_existing="false",
    )

    assert counts(job) == (1, 0, 0, 1, 0, 0)
    assert job["options"]["update_existing"] is False
    assert sorted(Product.objects.values_list("sku", "name")) == [
        ("LAMP-1", "Lamp"),
        ("MUG-2", "Mug"),
    ]


def test_abort_fails_the_job_with_its_report_and_changes_nothing(api, worker):
    make_product(sku="KEEP-1")
    before = table_checksum()

    job = finished(api, b"sku,name\nA-1,A\n,B\n", on_error="abort")

    assert job["status"] == "FAILED"
    assert job["error_message"].startswith("1 of 2 rows are not valid")
    assert job["invalid_count"] == 1
    report = api.get(job["errors_url"])
    assert b"".join(report.streaming_content).decode().splitlines() == [
        "line,reason,fields",
        "3,empty sku,,B",
    ]
    assert table_checksum() == before


def test_abort_reports_every_bad_row_however_many(api, worker):
    bad = 12_000  # past the 10,000 that the report kept before
    content = b"sku,name\nA-1,A\n" + b"".join(b",nameless %d\n" % n for n in range(bad))

    job = finished(api, content, on_error="abort")

    assert job["status"] == "FAILED"
    assert job["invalid_count"] == bad
    report = b"".join(api.get(job["errors_url"]).streaming_content).decode().splitlines()
    assert len(report) == bad + 1
    assert report[1] == "3,empty sku,,nameless 0"
    assert report[-1] == f"{bad + 2},empty sku,,nameless {bad - 1}"
    assert not Product.objects.exists()


def test_a_profile_gives_its_options_and_a_field_overrides_one(api, worker):
    created = api.post(
        "/api/import-profiles/",
        {"name": "Shop export", "mapping": {"Item Code": "sku"}, "update_existing": False},
        format="json",
    )
    assert created.status_code == 201, created.json()
    profile = created.json()
    assert (profile["on_error"], profile["update_existing"]) == ("skip", False)
    duplicate = api.post("/api/import-profiles/", {"name": "Shop export"}, format="json")
    assert duplicate.status_code == 400
    assert list(duplicate.json()) == ["name"]
    bad = api.post(
        "/api/import-profiles/", {"name": "X", "mapping": {"A": "colour"}}, format="json"
    )
    assert bad.status_code == 400
    assert list(bad.json()) == ["mapping"]

    job = finished(
        api,
        b"Item Code,name\nLAMP-1,Lamp\n",
        profile=str(profile["id"]),
        update_existing="true",
    )

    assert job["options"] == {
        "on_error": "skip", "update_existing": True, "mapping": {"Item Code": "sku"},
        "profile": profile["id"],
    }  # fmt: skip
    assert job["created_count"] == 1
    assert ImportProfile.objects.count() == 1


def test_one_nul_byte_is_a_bad_row_not_a_refused_file(api, worker):
    job = finished(api, b"sku,name\nA-1,A\nB-2,B\x00\nC-3,C\n")

    assert job["status"] == "COMPLETED", job
    assert (job["created_count"], job["invalid_count"]) == (2, 1)


def test_a_binary_file_is_still_refused_at_upload(api):
    response = upload(api, b"sku,name\n" + bytes(range(32)) * 200)  # UTF-8, yet not text

    assert response.status_code == 400
    assert response.json() == {
        "file": ["The file is not text (most of its first bytes are binary): upload a CSV."]
    }


def test_a_header_without_rows_completes_with_a_warning(api, worker):
    job = finished(api, b"sku,name\n")

    assert job["status"] == "COMPLETED"
    assert job["message"] == (
        "Import complete. The file has a header and no rows: nothing to import."
    )


def test_the_template_is_a_file_the_import_takes(api, worker):
    response = api.get("/api/products/template.csv")

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="products-template.csv"'
    job = finished(api, response.content)
    assert (job["status"], job["created_count"], job["invalid_count"]) == ("COMPLETED", 2, 0)


def test_an_applied_preview_that_expires_loses_its_changes(api, worker):
    preview = finished(api, b"sku,name\nA-1,A\n", dry_run="true")
    wait_for(api, api.post(preview["apply_url"]).json())
    Job.objects.filter(pk=preview["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert not Job.objects.get(pk=preview["id"]).file  # the import took it over
    assert JobChange.objects.filter(job_id=preview["id"]).count() == 1

    assert undo.prune_expired() == 1
    assert not JobChange.objects.filter(job_id=preview["id"]).exists()
    assert undo.prune_expired() == 0
