"""Upload, status and bulk delete through the API and a live Celery worker."""

import csv
import gzip
import io
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from jobs.models import Job
from products.models import Product
from products.tests.factories import make_product

from .helpers import SAMPLE, upload, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]


def catalog() -> list[tuple[str, str, str, bool]]:
    return list(
        Product.objects.order_by("sku_key").values_list("sku", "name", "description", "active")
    )


def test_the_sample_file_lands_with_exact_counts(api, worker):
    content = SAMPLE.read_bytes()
    rows = list(csv.DictReader(io.StringIO(content.decode())))
    last = {row["sku"].lower(): row for row in rows}

    response = upload(api, content, "products.csv")

    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "PENDING"
    assert body["kind"] == "import"
    assert body["file_name"] == "products.csv"
    assert body["status_url"].endswith(f"/api/job/{body['id']}/status/")
    job = wait_for(api, body)
    assert job["status"] == "COMPLETED", job
    assert (job["stage"], job["message"], job["percent"]) == ("done", "Import complete", 100)
    assert job["total_rows"] == len(rows) == 1000
    assert job["created_count"] == len(last)
    assert job["updated_count"] == 0
    assert job["duplicate_count"] == len(rows) - len(last)
    assert job["invalid_count"] == 0
    assert job["errors_url"] is None
    assert catalog() == sorted(
        ((r["sku"], r["name"], r["description"], True) for r in last.values()),
        key=lambda p: p[0].lower(),
    )


def test_a_reimport_overwrites_and_keeps_active(api, worker):
    make_product(sku="KEEP-1", name="Old", description="old", active=False)
    job = wait_for(
        api, upload(api, b"sku,name,description\nkeep-1,New,new\nfresh-2,Fresh,\n").json()
    )
    assert (job["created_count"], job["updated_count"]) == (1, 1)
    assert catalog() == [("fresh-2", "Fresh", "", True), ("keep-1", "New", "new", False)]


def test_bad_rows_are_reported_and_the_rest_lands(api, worker):
    content = b"sku,name\nok-1,Fine\n,No SKU\nok-2,Also fine\n"
    job = wait_for(api, upload(api, content).json())
    assert job["status"] == "COMPLETED"
    assert (job["created_count"], job["invalid_count"]) == (2, 1)
    report = api.get(job["errors_url"])
    assert report.status_code == 200
    lines = list(csv.reader(io.StringIO(b"".join(report.streaming_content).decode())))
    assert lines[0] == ["line", "reason", "fields"]
    assert lines[1][0] == "3"
    assert lines[1][2:] == ["", "No SKU"]


def test_a_file_without_a_sku_column_fails_and_changes_nothing(api, worker):
    make_product(sku="before", name="Before")
    before = catalog()
    job = wait_for(api, upload(api, b"name,price\nLamp,3\n").json())
    assert job["status"] == "FAILED"
    assert "sku" in job["error_message"]
    assert catalog() == before


def test_a_very_long_file_name_is_shortened_with_its_extension(api, worker):
    response = upload(api, b"sku,name\nlong-1,Long\n", "x" * 300 + ".csv")
    assert response.status_code == 202, response.json()
    assert response.json()["file_name"] == "x" * 251 + ".csv"
    assert wait_for(api, response.json())["status"] == "COMPLETED"


def test_a_gzipped_csv_is_accepted(api, worker):
    content = gzip.compress(b"sku,name\ngz-1,Zipped\n")
    job = wait_for(api, upload(api, content, "catalog.csv.gz").json())
    assert job["status"] == "COMPLETED", job
    assert [p[0] for p in catalog()] == ["gz-1"]


def test_a_gzip_file_cut_short_fails_and_changes_nothing(api, worker):
    rows = b"".join(f"{uuid.uuid4()},{uuid.uuid4()}\n".encode() for _ in range(20000))
    content = gzip.compress(b"sku,name\n" + rows)
    # Its start decompresses (the upload is accepted); its end is missing.
    job = wait_for(api, upload(api, content[: len(content) * 3 // 4], "catalog.csv.gz").json())
    assert job["status"] == "FAILED"
    assert job["error_message"].startswith("The file could not be read (")
    assert not Product.objects.exists()


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({}, "No file was submitted: send it as the multipart field 'file'."),
        ({"file": ("catalog.csv", b"")}, "The file is empty."),
        ({"file": ("catalog.txt", b"sku,name\n")}, "'catalog.txt' is not a .csv or .csv.gz file."),
        ({"file": ("catalog.csv", b"\x89PNG\r\n\x1a\n\x00\x00")}, None),
        ({"file": ("catalog.csv.gz", b"not gzip at all")}, None),
    ],
)
def test_bad_uploads_are_400s_and_queue_nothing(api, files, message):
    data = {key: SimpleUploadedFile(name, content) for key, (name, content) in files.items()}
    response = api.post("/api/products/upload/", data, format="multipart")
    assert response.status_code == 400, response.json()
    errors = response.json()["file"]
    if message:
        assert errors == [message]
    assert not Job.objects.exists()


def test_an_upload_over_the_limit_is_a_413(api, settings):
    settings.MAX_UPLOAD_BYTES = 100
    response = upload(api, b"sku,name\n" + b"x,y\n" * 100)
    assert response.status_code == 413
    assert response.json()["detail"].startswith("The upload is ")
    assert not Job.objects.exists()


def test_json_to_the_upload_endpoint_is_a_415(api):
    response = api.post("/api/products/upload/", {"file": "x"}, format="json")
    assert response.status_code == 415


def test_with_the_broker_down_the_upload_is_a_503_and_no_job_stays_pending(api, settings):
    from kombu import pools

    from devstack.processes import free_port
    from product_importer.celery import app

    def use_broker(url: str) -> None:
        app.conf.update(broker_url=url)
        pools.reset()  # Celery and kombu make new pools (and producers) for the new URL
        setattr(app, "_pool", None)  # noqa: B010
        setattr(app.amqp, "_producer_pool", None)  # noqa: B010

    use_broker(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    try:
        response = upload(api, b"sku,name\na,b\n")
    finally:
        use_broker(settings.CELERY_BROKER_URL)
    assert response.status_code == 503
    assert "queue is unavailable" in response.json()["detail"]
    assert list(Job.objects.values_list("status", flat=True)) == ["FAILED"]


def test_bulk_delete_removes_every_product(api, worker):
    for n in range(30):
        make_product(sku=f"gone-{n}")
    response = api.post("/api/products/bulk_delete/")
    assert response.status_code == 202
    job = wait_for(api, response.json())
    assert job["status"] == "COMPLETED", job
    assert (job["kind"], job["deleted_count"]) == ("bulk_delete", 30)
    assert job["message"] == "Delete complete"
    assert not Product.objects.exists()
    assert api.get("/api/products/").json()["count"] == 0


def test_jobs_history_and_status(api, anonymous):
    first = Job.objects.create(kind=Job.Kind.IMPORT, status=Job.Status.FAILED)
    second = Job.objects.create(kind=Job.Kind.BULK_DELETE)
    assert [j["id"] for j in api.get("/api/jobs/").json()["results"]] == [
        str(second.pk),
        str(first.pk),
    ]
    assert [j["id"] for j in api.get("/api/jobs/", {"kind": "import"}).json()["results"]] == [
        str(first.pk)
    ]
    assert api.get(f"/api/job/{first.pk}/status/").json()["status"] == "FAILED"
    assert api.get("/api/job/00000000-0000-0000-0000-000000000000/status/").status_code == 404
    assert api.get(f"/api/jobs/{first.pk}/errors.csv").status_code == 404
    assert anonymous.get(f"/api/job/{first.pk}/status/").status_code == 401
