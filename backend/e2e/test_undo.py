"""Take it back (issue 17), end to end in Chromium: cancel an import in the middle of its upsert,
revert an import, its conflicts, and undo a delete-all. Each test checks the catalog through the
API: its product count, and a checksum of the whole of it (`Api.catalog_checksum`) from before
the job that was taken back."""

import csv
import re
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from .helpers import Api, screenshot, sign_in

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SAMPLE = Path(__file__).resolve().parents[2] / "products.csv"
# Enough rows for the upsert to last a few seconds, so that Cancel lands in the middle of it.
BIG_ROWS = 200_000
DASH = "\N{EN DASH}"


def number(value: int) -> str:
    return f"{value:,}"


def write_catalog(path: Path, rows: int, name: str) -> Path:
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["sku", "name", "description", "active"])
        writer.writerows(
            [f"BIG-{i:06d}", f"{name} {i}", f"Generated row {i}", "true"] for i in range(rows)
        )
    return path


@pytest.fixture(scope="module")
def big_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The same 200,000 SKUs twice: as first imported, then every name changed."""
    folder = tmp_path_factory.mktemp("big")
    return (
        write_catalog(folder / "big.csv", BIG_ROWS, "Product"),
        write_catalog(folder / "big-renamed.csv", BIG_ROWS, "Renamed"),
    )


def history_row(page: Page, name: str) -> Locator:
    """The history's newest row of the job named `name` (its file, or "Delete all products")."""
    rows = page.get_by_role("region", name="Job history").get_by_role("row")
    return rows.filter(has=page.get_by_role("cell", name=name, exact=True)).first


def count_of(region: Locator, label: str) -> Locator:
    return region.locator(".counts__item", has_text=re.compile(f"^{label}")).locator("dd")


def test_cancel_an_import_in_the_middle_of_its_upsert(
    signed_in: Page, api: Api, big_files: tuple[Path, Path]
) -> None:
    big, renamed = big_files
    api.import_csv(big)
    count = api.product_count()
    assert count == BIG_ROWS
    before = api.catalog_checksum()

    page = signed_in
    page.get_by_role("link", name="Import").click()
    page.get_by_label("Choose a file").set_input_files(renamed)
    setup = page.get_by_role("region", name="Import of big-renamed.csv")
    setup.get_by_role("button", name="Import now").click()
    card = page.get_by_role("region", name="Progress of big-renamed.csv")
    # In the upsert: rows written, not yet all (while the rows are sorted, none is counted).
    card.locator(".job__stage").filter(
        has_text=re.compile(rf"^Importing {DASH} [1-9][\d,]* of {number(BIG_ROWS)} rows")
    ).wait_for(timeout=120_000)
    card.get_by_role("button", name="Cancel").click()

    expect(card.locator(".badge", has_text="Cancelled")).to_be_visible()
    expect(card).to_contain_text("Nothing was changed")
    expect(card.get_by_role("button", name="Retry")).to_be_visible()
    screenshot(page, "30-import-cancelled")
    job = api.get("/api/jobs/", kind="import", page_size=1)["results"][0]
    assert (job["file_name"], job["status"], job["stage"]) == (
        "big-renamed.csv",
        "CANCELLED",
        "cancelled",
    )
    assert (job["cancel_url"], job["revertible"]) == (None, False)
    assert 0 < job["processed_rows"] < BIG_ROWS, job  # it was cancelled in the middle
    expect(history_row(page, "big-renamed.csv")).to_contain_text("Cancelled")
    assert api.product_count() == count
    assert api.catalog_checksum() == before
    assert api.product("BIG-000000")["name"] == "Product 0"


def test_revert_an_import_from_the_history(dashboard: Page, api: Api, tmp_path: Path) -> None:
    api.import_csv(SAMPLE)
    api.post("/api/products/", {"sku": "CH-1", "name": "Old chair", "description": "Worn"})
    count = api.product_count()
    before = api.catalog_checksum()
    supplier = tmp_path / "supplier.csv"
    supplier.write_text(
        "sku,name,description\nCH-1,Oak chair,Solid oak\nDK-2,Pine desk,Wide\nLP-3,Lamp,Brass\n"
    )
    imported = api.import_csv(supplier)
    assert (imported["created_count"], imported["updated_count"]) == (2, 1)
    assert imported["revertible"] is True
    assert api.product_count() == count + 2

    page = dashboard
    sign_in(page, "/imports")
    row = history_row(page, "supplier.csv")
    expect(row).to_contain_text("2 created, 1 updated")
    expect(row).to_contain_text("alice")
    row.get_by_role("button", name="Revert supplier.csv").click()
    dialog = page.get_by_role("alertdialog", name="Revert supplier.csv")
    expect(dialog).to_contain_text(
        "2 products created by this import will be deleted; 1 will get its previous values back."
    )
    screenshot(page, "31-revert-dialog")
    dialog.get_by_role("button", name="Revert", exact=True).click()

    card = page.get_by_role("region", name="Progress of Revert")
    expect(card.locator(".badge", has_text="Done")).to_be_visible(timeout=60_000)
    expect(count_of(card, "Conflicts")).to_have_text("0")
    screenshot(page, "32-revert-done")
    expect(history_row(page, "supplier.csv")).to_contain_text("Reverted")
    expect(
        history_row(page, "supplier.csv").get_by_role("button", name=re.compile("^Revert"))
    ).to_have_count(0)
    revert = api.get("/api/jobs/", kind="revert", page_size=1)["results"][0]
    assert (revert["status"], revert["reverts"], revert["conflict_count"]) == (
        "COMPLETED",
        imported["id"],
        0,
    )
    assert api.get(f"/api/jobs/{imported['id']}/")["reverted_by"] == revert["id"]
    assert api.product_count() == count
    assert api.catalog_checksum() == before
    assert api.product("CH-1")["name"] == "Old chair"


def test_a_revert_leaves_a_product_changed_since_as_it_is_and_lists_it(
    dashboard: Page, api: Api, tmp_path: Path
) -> None:
    api.post("/api/products/", {"sku": "CH-1", "name": "Old chair"})
    supplier = tmp_path / "supplier.csv"
    supplier.write_text("sku,name\nCH-1,Oak chair\nDK-2,Pine desk\n")
    api.import_csv(supplier)
    desk = api.product("DK-2")
    response = api.session.patch(
        f"{api.base_url}/api/products/{desk['id']}/", json={"name": "Desk, edited"}, timeout=30
    )
    assert response.status_code == 200, response.text

    page = dashboard
    sign_in(page, "/imports")
    history_row(page, "supplier.csv").get_by_role("button", name="Revert supplier.csv").click()
    dialog = page.get_by_role("alertdialog", name="Revert supplier.csv")
    expect(dialog.get_by_label(re.compile("Revert the conflicts too"))).not_to_be_checked()
    dialog.get_by_role("button", name="Revert", exact=True).click()

    card = page.get_by_role("region", name="Progress of Revert")
    expect(card.locator(".badge", has_text="Done")).to_be_visible(timeout=60_000)
    expect(count_of(card, "Conflicts")).to_have_text("1")
    expect(card).to_contain_text("Revert complete. 1 changed since were left as they are")
    link = card.get_by_role("link", name="Download the conflicts (CSV)")
    href = link.get_attribute("href")
    assert href is not None
    conflicts = list(csv.DictReader(page.request.get(href).text().splitlines()))
    assert [row["sku"] for row in conflicts] == ["DK-2"]
    screenshot(page, "33-revert-conflicts")
    # The edited desk stays as it is; the chair has its old name back.
    assert api.product("DK-2")["name"] == "Desk, edited"
    assert api.product("CH-1")["name"] == "Old chair"
    assert api.product_count() == 2


def test_undo_a_delete_all_brings_every_product_back(signed_in: Page, api: Api) -> None:
    api.import_csv(SAMPLE)
    total = api.product_count()
    before = api.catalog_checksum()

    page = signed_in
    page.get_by_role("link", name="Products").click()
    expect(page.get_by_role("region", name="Undo delete all", exact=True)).to_have_count(0)
    page.get_by_role("button", name="Delete all…").click()
    dialog = page.get_by_role("alertdialog", name="Delete all products")
    dialog.get_by_label("Type DELETE to confirm").fill("DELETE")
    dialog.get_by_role("button", name="Delete all products").click()
    expect(page.get_by_text(f"Deleted {number(total)} products.")).to_be_visible(timeout=60_000)
    expect(page.get_by_text("No products yet: import a CSV.")).to_be_visible()
    assert api.product_count() == 0

    notice = page.get_by_role("region", name="Undo delete all", exact=True)
    expect(notice).to_contain_text(f"{number(total)} products were deleted by Delete all")
    screenshot(page, "34-undo-delete-all")
    # The notice stays for as long as the delete can be reverted: after a reload too.
    page.reload()
    notice.get_by_role("button", name="Undo").click()
    progress = page.get_by_role("region", name="Progress of Undo delete all")
    expect(progress.locator(".badge", has_text="Done")).to_be_visible(timeout=60_000)
    expect(page.get_by_text(f"Brought back {number(total)} products.")).to_be_visible()
    expect(notice).to_have_count(0)
    expect(page.get_by_role("region", name="Products").locator("tbody tr")).to_have_count(25)
    screenshot(page, "35-undo-done")
    assert api.product_count() == total
    assert api.catalog_checksum() == before
