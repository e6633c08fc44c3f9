"""An import reads at most MAX_IMPORT_BYTES of CSV, and a .csv.gz compresses at most
MAX_GZIP_RATIO to 1: beyond, the job fails with words and the catalog is as it was."""

import gzip

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from jobs.models import Job
from jobs.tasks import run_import
from products.models import Product
from products.tests.factories import make_product

from .helpers import upload, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]

HEADER = b"sku,name\n"


def catalog() -> list[tuple[str, str]]:
    return list(Product.objects.order_by("sku_key").values_list("sku", "name"))


def test_a_gzip_bomb_fails_with_words_and_changes_nothing(api, worker):
    make_product(sku="KEPT-1", name="Before the bomb")
    before = catalog()
    # 60 MB of CSV in about 120 KB, a ratio of about 500:1.
    bomb = gzip.compress(HEADER + b"bomb-1,Boom\n" * 5_000_000, compresslevel=9)
    assert len(bomb) < 200_000

    response = upload(api, bomb, "catalog.csv.gz")

    assert response.status_code == 202, response.json()  # the start of it looks like any CSV
    job = wait_for(api, response.json())
    assert job["status"] == "FAILED"
    assert job["error_message"] == (
        "The file compresses more than 200:1, which real catalogs do not (they compress 2 to 15 "
        "times, under 170 even when every row repeats one long description): it looks like a "
        "decompression bomb (MAX_GZIP_RATIO). Nothing was imported."
    )
    assert catalog() == before


def stored_job(content: bytes, name: str) -> Job:
    stored = default_storage.save(f"uploads/limits-test-{name}", ContentFile(content))
    return Job.objects.create(kind=Job.Kind.IMPORT, file=stored, file_name=name)


@pytest.mark.parametrize(
    ("name", "compress", "message"),
    [
        ("catalog.csv", False, "The file is larger than 100,000 bytes"),
        ("catalog.csv.gz", True, "The file expands to more than 100,000 bytes of CSV"),
    ],
)
def test_a_catalog_over_max_import_bytes_fails_with_words_and_changes_nothing(
    settings, name, compress, message
):
    """The job's kind, run in this process so that it reads the setting as the test sets it."""
    settings.MAX_IMPORT_BYTES = 100_000
    make_product(sku="KEPT-1", name="Before")
    before = catalog()
    rows = HEADER + b"".join(b"big-%06d,Product %d\n" % (n, n) for n in range(10_000))
    job = stored_job(gzip.compress(rows) if compress else rows, name)

    run_import(str(job.pk))

    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert job.error_message == (
        f"{message}, the most one import takes (MAX_IMPORT_BYTES): split it into smaller files. "
        "Nothing was imported."
    )
    assert catalog() == before
