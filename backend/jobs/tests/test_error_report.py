"""The import's error report (errors.csv) through the live worker: refused rows are written as
they were, with formula cells escaped exactly as the export escapes them."""

import csv
import io

import pytest
from asgiref.sync import async_to_sync

from products.export import export_csv
from products.models import Product

from .helpers import upload, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]


def exported() -> list[list[str]]:
    async def collect() -> bytes:
        return b"".join([chunk async for chunk in export_csv(Product.objects.all())])

    return list(csv.reader(io.StringIO(async_to_sync(collect)().decode())))


def test_formula_cells_in_refused_rows_are_escaped_as_in_the_export(api, worker):
    content = (
        b"sku,name,description\n"
        b"=1+2,,\n"
        b"+SUM(A1),,\n"
        b"@cmd,,\n"
        b"-2+3,,\n"
        b"tabbed,,\t=1+2\n"
        b"plain-1,,1-2\n"
        b"formula-ok,=1+2,@cmd\n"
    )
    job = wait_for(api, upload(api, content).json())
    assert job["status"] == "COMPLETED"
    assert (job["created_count"], job["invalid_count"]) == (1, 6)

    report = api.get(job["errors_url"])
    assert report.status_code == 200
    lines = list(csv.reader(io.StringIO(b"".join(report.streaming_content).decode())))
    assert lines == [
        ["line", "reason", "fields"],
        ["2", "empty name", "'=1+2", "", ""],
        ["3", "empty name", "'+SUM(A1)", "", ""],
        ["4", "empty name", "'@cmd", "", ""],
        ["5", "empty name", "'-2+3", "", ""],
        ["6", "empty name", "tabbed", "", "'\t=1+2"],
        ["7", "empty name", "plain-1", "", "1-2"],
    ]
    [header, product] = exported()
    assert header[:3] == ["sku", "name", "description"]
    assert product[:3] == ["formula-ok", "'=1+2", "'@cmd"]
    assert (product[1], product[2]) == (lines[1][2], lines[3][2])
