"""Look before you import (issue 16), end to end in Chromium: a file's columns mapped in the form,
a preview of its changes before and after, importing exactly those, a saved profile picked
again, and a failed job whose header needs a mapping. Outcomes are checked through the API."""

import gzip
import re
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from .helpers import Api, screenshot, sign_in

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

# "Item Code" and "Product Name" are names the server knows; "Notes" and "Listed" are not, so the
# user maps them. The catalog holds CH-1 (changed by the file) and LP-3 (the same as in it).
SUPPLIER_CSV = (
    "Item Code,Product Name,Notes,Listed\n"
    "CH-1,Oak chair,Solid oak,yes\n"
    "DK-2,Pine desk,Two drawers,no\n"
    "LP-3,Lamp,Brass,yes\n"
    "BAD-4,,No name,yes\n"
)
MAPPING = {"Item Code": "sku", "Product Name": "name", "Notes": "description", "Listed": "active"}


@pytest.fixture
def catalog(api: Api) -> None:
    api.post("/api/products/", {"sku": "CH-1", "name": "Old chair", "description": "Worn"})
    api.post("/api/products/", {"sku": "LP-3", "name": "Lamp", "description": "Brass"})


@pytest.fixture
def supplier_csv(tmp_path: Path) -> Path:
    path = tmp_path / "supplier.csv"
    path.write_text(SUPPLIER_CSV)
    return path


def count_of(region: Locator, label: str) -> Locator:
    return region.locator(".counts__item", has_text=re.compile(f"^{label}")).locator("dd")


def choose(page: Page, csv: Path) -> Locator:
    """Chooses `csv` on the Import page; returns the form that shows its columns."""
    page.get_by_label("Choose a file").set_input_files(csv)
    setup = page.get_by_role("region", name=f"Import of {csv.name}")
    expect(setup.get_by_role("button", name="Preview changes")).to_be_enabled()
    return setup


def map_supplier_columns(setup: Locator) -> None:
    """What the user does with the supplier's file: checks the two columns the server would
    guess, and maps the two it would not."""
    expect(setup.get_by_label("Item Code", exact=True)).to_have_value("sku")
    expect(setup.get_by_label("Product Name", exact=True)).to_have_value("name")
    expect(setup.get_by_label("Notes", exact=True)).to_have_value("")
    expect(setup.get_by_label("Listed", exact=True)).to_have_value("")
    setup.get_by_label("Item Code", exact=True).select_option(label="SKU")
    setup.get_by_label("Product Name", exact=True).select_option(label="Name")
    setup.get_by_label("Notes", exact=True).select_option(label="Description")
    setup.get_by_label("Listed", exact=True).select_option(label="Active")


def test_map_the_columns_preview_the_changes_and_import_them(
    signed_in: Page, api: Api, catalog: None, supplier_csv: Path
) -> None:
    page = signed_in
    page.get_by_role("link", name="Import").click()
    template = page.get_by_role("link", name="Download a template")
    assert template.get_attribute("href") == "/api/products/template.csv"
    answer = page.request.get("/api/products/template.csv")
    assert answer.status == 200
    assert answer.text().splitlines()[0] == "sku,name,description,active"

    setup = choose(page, supplier_csv)
    map_supplier_columns(setup)
    # A field chosen twice is said, and stops both buttons until it is fixed.
    setup.get_by_label("Notes", exact=True).select_option(label="SKU")
    expect(
        setup.get_by_text('"Item Code" and "Notes" are both mapped to sku: choose one of them.')
    ).to_be_visible()
    expect(setup.get_by_role("button", name="Preview changes")).to_be_disabled()
    expect(setup.get_by_role("button", name="Import now")).to_be_disabled()
    setup.get_by_label("Notes", exact=True).select_option(label="Description")
    rows = setup.get_by_role("region", name="The first rows as imported").locator("tbody tr")
    expect(rows).to_have_count(4)
    expect(rows.nth(0).locator("td")).to_have_text(["CH-1", "Oak chair", "Solid oak", "yes"])
    expect(rows.nth(3).locator("td")).to_have_text(["BAD-4", "", "No name", "yes"])
    screenshot(page, "20-import-mapping")
    setup.get_by_role("button", name="Preview changes").click()

    preview = page.get_by_role("region", name="Preview of supplier.csv")
    expect(preview.get_by_role("button", name="Import these changes")).to_be_visible()
    for label, value in [
        ("To create", "1"),
        ("To update", "1"),
        ("Unchanged", "1"),
        ("Skipped", "0"),
        ("Invalid rows", "1"),
        ("Duplicates in the file", "0"),
    ]:
        expect(count_of(preview, label)).to_have_text(value)
    changes = preview.get_by_role("region", name="Changes").locator("tbody tr")
    expect(changes).to_have_count(2)
    # By SKU: CH-1 before and after, its changed fields marked; DK-2 new.
    expect(changes.nth(0).get_by_role("rowheader")).to_have_text("Update")
    expect(changes.nth(0).locator("td")).to_have_text(
        [
            *("CH-1", "CH-1"),
            *("Old chair", "Oak chair (changed)"),
            *("Worn", "Solid oak (changed)"),
            *("Yes", "Yes"),
        ]
    )
    expect(changes.nth(0).locator("td.is-changed")).to_have_count(2)
    expect(changes.nth(1).get_by_role("rowheader")).to_have_text("New")
    expect(changes.nth(1).locator("td")).to_have_text(
        ["none", "DK-2", "none", "Pine desk", "none", "Two drawers", "none", "No"]
    )
    csv_link = preview.get_by_role("link", name="Download all the changes (CSV)")
    changes_csv = page.request.get(csv_link.get_attribute("href") or "")
    assert changes_csv.status == 200
    lines = changes_csv.text().splitlines()
    assert lines[0] == (
        "action,sku,name,description,active,"
        "previous_sku,previous_name,previous_description,previous_active"
    )
    assert [line.split(",")[:2] for line in lines[1:]] == [["update", "CH-1"], ["create", "DK-2"]]
    errors = page.request.get(
        preview.get_by_role("link", name=re.compile("error report")).get_attribute("href") or ""
    )
    assert errors.status == 200
    assert "BAD-4" in errors.text()
    screenshot(page, "21-import-preview")

    # Nothing was written by the preview.
    [dry_run] = api.get("/api/jobs/", kind="import")["results"]
    assert (dry_run["dry_run"], dry_run["status"], dry_run["options"]["mapping"]) == (
        True,
        "COMPLETED",
        MAPPING,
    )
    assert api.product_count() == 2
    assert api.product("CH-1")["name"] == "Old chair"

    preview.get_by_role("button", name="Import these changes").click()
    progress = page.get_by_role("region", name="Progress of supplier.csv")
    expect(count_of(progress, "Created")).to_have_text("1", timeout=120_000)
    expect(count_of(progress, "Updated")).to_have_text("1")
    expect(count_of(progress, "Invalid rows")).to_have_text("1")
    applied = api.get("/api/jobs/", kind="import")["results"][0]
    assert (applied["dry_run"], applied["status"], applied["source_job"]) == (
        False,
        "COMPLETED",
        dry_run["id"],
    )
    assert api.product_count() == 3
    products = {sku: api.product(sku) for sku in ["CH-1", "DK-2", "LP-3"]}
    assert {sku: (p["name"], p["description"], p["active"]) for sku, p in products.items()} == {
        "CH-1": ("Oak chair", "Solid oak", True),
        "DK-2": ("Pine desk", "Two drawers", False),
        "LP-3": ("Lamp", "Brass", True),
    }
    screenshot(page, "22-import-applied")


def test_a_profile_saved_is_picked_again_for_the_next_file(
    signed_in: Page, api: Api, catalog: None, supplier_csv: Path, tmp_path: Path
) -> None:
    page = signed_in
    page.get_by_role("link", name="Import").click()
    setup = choose(page, supplier_csv)
    map_supplier_columns(setup)
    setup.get_by_label("Leave them as they are (create only)").check()
    setup.get_by_label("Abort the whole import").check()
    setup.get_by_role("button", name="Save as a profile").click()
    dialog = page.get_by_role("dialog", name="Save as a profile")
    dialog.get_by_label("Profile name").fill("Supplier X")
    dialog.get_by_role("button", name="Save profile").click()
    expect(dialog).to_be_hidden()
    expect(setup.get_by_label("Saved profile")).to_have_value(re.compile(r"\S"))
    [profile] = api.get("/api/import-profiles/")["results"]
    assert {key: profile[key] for key in ["name", "mapping", "on_error", "update_existing"]} == {
        "name": "Supplier X",
        "mapping": MAPPING,
        "on_error": "abort",
        "update_existing": False,
    }
    setup.get_by_role("button", name="Cancel").click()
    expect(setup).to_be_hidden()

    # The next file from the same supplier, compressed: the browser reads its start through
    # DecompressionStream; guessed as any file, until the profile is picked.
    next_csv = tmp_path / "supplier-march.csv.gz"
    next_csv.write_bytes(
        gzip.compress(
            b"Item Code,Product Name,Notes,Listed\nCH-1,Oak chair,Solid oak,yes\n"
            b"ST-5,Stool,Three legs,no\n"
        )
    )
    setup = choose(page, next_csv)
    expect(setup.get_by_label("Notes", exact=True)).to_have_value("")
    setup.get_by_label("Saved profile").select_option(label="Supplier X")
    expect(setup.get_by_label("Notes", exact=True)).to_have_value("description")
    expect(setup.get_by_label("Listed", exact=True)).to_have_value("active")
    expect(setup.get_by_label("Leave them as they are (create only)")).to_be_checked()
    expect(setup.get_by_label("Abort the whole import")).to_be_checked()
    screenshot(page, "23-import-profile")
    setup.get_by_role("button", name="Import now").click()

    progress = page.get_by_role("region", name="Progress of supplier-march.csv.gz")
    expect(count_of(progress, "Created")).to_have_text("1", timeout=120_000)
    expect(count_of(progress, "Skipped")).to_have_text("1")
    job = api.get("/api/jobs/", kind="import")["results"][0]
    assert (job["status"], job["created_count"], job["updated_count"], job["skipped_count"]) == (
        "COMPLETED",
        1,
        0,
        1,
    )
    assert job["options"] == {
        "on_error": "abort",
        "update_existing": False,
        "mapping": MAPPING,
        "profile": profile["id"],
    }
    # Create only: CH-1 is left as it was; the new product has the mapped fields.
    assert api.product("CH-1")["name"] == "Old chair"
    stool = api.product("ST-5")
    assert (stool["name"], stool["description"], stool["active"]) == ("Stool", "Three legs", False)
    assert api.product_count() == 3


def test_a_failed_job_whose_header_needs_a_mapping_offers_the_form(
    dashboard: Page, api: Api, tmp_path: Path
) -> None:
    legacy = tmp_path / "legacy.csv"
    legacy.write_text("Ref,Label,Remarks\nRF-1,Bench,Long\nRF-2,Shelf,Tall\n")
    failed = api.upload(legacy)
    assert (failed["status"], failed["needs_mapping"], failed["file_columns"]) == (
        "FAILED",
        True,
        ["Ref", "Label", "Remarks"],
    )
    assert "Ref" in failed["error_message"]

    page = dashboard
    sign_in(page, "/imports")
    history = page.get_by_role("region", name="Job history")
    history.get_by_role("button", name="Show legacy.csv").click()
    card = page.get_by_role("region", name="Progress of legacy.csv")
    expect(card.get_by_role("alert")).to_have_text(failed["error_message"])
    expect(card.get_by_role("button", name="Retry", exact=True)).to_be_visible()
    again = card.get_by_role("button", name="Retry with this mapping")
    expect(again).to_be_disabled()
    for column, label in [("Ref", "SKU"), ("Label", "Name"), ("Remarks", "Description")]:
        expect(card.get_by_label(column, exact=True)).to_have_value("")
        card.get_by_label(column, exact=True).select_option(label=label)
    screenshot(page, "24-import-needs-mapping")
    again.click()

    expect(count_of(card, "Created")).to_have_text("2", timeout=120_000)
    job = api.get(f"/api/jobs/{failed['id']}/")
    assert (job["status"], job["needs_mapping"], job["created_count"]) == ("COMPLETED", False, 2)
    assert job["options"]["mapping"] == {"Ref": "sku", "Label": "name", "Remarks": "description"}
    bench = api.product("RF-1")
    assert (bench["name"], bench["description"]) == ("Bench", "Long")
    assert api.product_count() == 2


def test_the_form_and_the_preview_fit_a_phone(
    signed_in: Page, api: Api, catalog: None, supplier_csv: Path
) -> None:
    page = signed_in
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto("/imports")
    setup = choose(page, supplier_csv)
    map_supplier_columns(setup)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    screenshot(page, "25-phone-import-mapping")
    setup.get_by_role("button", name="Preview changes").click()
    preview = page.get_by_role("region", name="Preview of supplier.csv")
    expect(preview.get_by_role("region", name="Changes").locator("tbody tr")).to_have_count(2)
    # The changes table scrolls inside its frame; the page does not.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    screenshot(page, "26-phone-import-preview")
