"""The stories of the dashboard, end to end in Chromium: sign in, import, browse, edit, delete all,
webhooks. Each test starts from an empty catalog and a signed-out browser; outcomes are checked
through the API (see `conftest.Api`)."""

import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from .helpers import Api, BrowserErrors, screenshot, sign_in

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SAMPLE = Path(__file__).resolve().parents[2] / "products.csv"
DASH = "\N{EN DASH}"  # as the page writes ranges: "1-25" with an en dash


def number(value: int) -> str:
    return f"{value:,}"


def test_sign_in_shows_the_user_and_sign_out_ends_the_session(dashboard: Page) -> None:
    dashboard.goto("/products")
    expect(dashboard.get_by_role("heading", name="Product Importer")).to_be_visible()
    screenshot(dashboard, "01-sign-in")
    sign_in(dashboard, "/products")
    # Signed in where the user was going, with the user named in the header.
    expect(dashboard.get_by_role("heading", name="Products", exact=True)).to_be_visible()
    expect(dashboard.get_by_text("Signed in as alice")).to_be_visible()
    dashboard.reload()
    expect(dashboard.get_by_test_id("username")).to_have_text("alice")

    dashboard.get_by_role("button", name="Sign out").click()
    expect(dashboard.get_by_role("button", name="Sign in")).to_be_visible()
    dashboard.reload()
    expect(dashboard.get_by_role("button", name="Sign in")).to_be_visible()


def test_a_wrong_password_is_said_in_words(dashboard: Page, browser_errors: BrowserErrors) -> None:
    browser_errors.expect(r"status of 400")  # the browser logs the refused request itself
    dashboard.goto("/")
    dashboard.get_by_label("Username").fill("alice")
    dashboard.get_by_label("Password").fill("not-the-password")
    dashboard.get_by_role("button", name="Sign in").click()
    expect(dashboard.get_by_role("alert")).to_have_text(
        "The username or the password is not right."
    )


def test_upload_the_sample_catalog_and_follow_it_to_the_end(signed_in: Page, api: Api) -> None:
    page = signed_in
    page.get_by_role("link", name="Import").click()
    expect(page.get_by_role("heading", name="Import products")).to_be_visible()
    expect(page.get_by_text("No jobs yet.")).to_be_visible()
    screenshot(page, "02-import-empty")

    page.get_by_label("Choose a file").set_input_files(SAMPLE)
    # The file's columns are shown first, guessed from its header; nothing is sent yet.
    setup = page.get_by_role("region", name="Import of products.csv")
    expect(setup.get_by_label("sku", exact=True)).to_have_value("sku")
    assert api.get("/api/jobs/", kind="import")["count"] == 0
    setup.get_by_role("button", name="Import now").click()
    progress = page.get_by_role("region", name="Progress of products.csv")
    expect(progress.get_by_text("Import complete")).to_be_visible(timeout=120_000)
    expect(progress.get_by_text("100 %")).to_be_visible()
    job = api.get("/api/jobs/", kind="import")["results"][0]
    assert (job["status"], job["total_rows"], job["file_name"]) == (
        "COMPLETED",
        1000,
        "products.csv",
    )
    assert job["created_count"] == api.product_count() > 0
    assert job["created_count"] + job["duplicate_count"] + job["invalid_count"] == 1000
    for label, key in [
        ("Created", "created_count"),
        ("Updated", "updated_count"),
        ("Duplicates in the file", "duplicate_count"),
        ("Invalid rows", "invalid_count"),
    ]:
        count = progress.locator(".counts__item", has_text=label).locator("dd")
        expect(count).to_have_text(number(job[key]))
    history = page.get_by_role("region", name="Job history")
    expect(history.get_by_role("row", name=re.compile("products.csv"))).to_contain_text("Done")
    screenshot(page, "03-import-complete")

    # Leaving the page and coming back shows the same job.
    page.get_by_role("link", name="Products").click()
    expect(page.get_by_role("heading", name="Products", exact=True)).to_be_visible()
    page.get_by_role("link", name="Import").click()
    expect(page.get_by_role("region", name="Progress of products.csv")).to_contain_text(
        "Import complete"
    )


def test_browse_sort_filter_search_and_edit_products(signed_in: Page, api: Api) -> None:
    api.import_csv(SAMPLE)
    total = api.product_count()
    page = signed_in
    page.get_by_role("link", name="Products").click()
    table = page.get_by_role("region", name="Products")
    rows = table.locator("tbody tr")
    first_sku = rows.first.locator("td").first
    expect(rows).to_have_count(25)
    expect(page.get_by_text(f"1{DASH}25 of {number(total)} products")).to_be_visible()
    screenshot(page, "04-products")

    # The next page starts with the 26th product (by id, the default order).
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_text(f"26{DASH}50 of {number(total)} products")).to_be_visible()
    expect(first_sku).to_have_text(api.get("/api/products/", page=2)["results"][0]["sku"])
    assert "page=2" in page.url

    # Last: the catalog's end (read backwards by the API), then Previous by number from there.
    pages = -(-total // 25)
    page.get_by_role("button", name="Last").click()
    expect(
        page.get_by_text(
            f"{number((pages - 1) * 25 + 1)}{DASH}{number(total)} of {number(total)} products"
            f" · page {number(pages)} of {number(pages)}"
        )
    ).to_be_visible()
    last = api.get("/api/products/", page="last", page_size=25)
    assert last["page"] == pages
    expect(first_sku).to_have_text(last["results"][0]["sku"])
    expect(rows).to_have_count(len(last["results"]))
    assert "page=last" in page.url
    expect(page.get_by_role("button", name="Last")).to_be_disabled()
    page.get_by_role("button", name="Previous").click()
    expect(page.get_by_text(f"page {number(pages - 1)} of {number(pages)}")).to_be_visible()
    expect(first_sku).to_have_text(
        api.get("/api/products/", page=pages - 1, page_size=25)["results"][0]["sku"]
    )

    # Sorting by SKU goes back to page 1, in SKU order one way, then the other.
    sku_header = page.get_by_role("columnheader", name=re.compile("^SKU"))
    sku_header.get_by_role("button").click()
    expect(sku_header).to_have_attribute("aria-sort", "ascending")
    expect(first_sku).to_have_text(api.get("/api/products/", ordering="sku")["results"][0]["sku"])
    sku_header.get_by_role("button").click()
    expect(sku_header).to_have_attribute("aria-sort", "descending")
    expect(first_sku).to_have_text(api.get("/api/products/", ordering="-sku")["results"][0]["sku"])
    sku_header.get_by_role("button").click()
    expect(sku_header).to_have_attribute("aria-sort", "none")

    # A filter on the name.
    word = api.get("/api/products/")["results"][0]["name"].split()[0]
    matching = api.product_count(name=word)
    assert 0 < matching < total
    page.get_by_label("Name contains").fill(word)
    expect(page.get_by_text(re.compile(rf" of {number(matching)} products"))).to_be_visible()
    for name in table.locator("tbody tr td:nth-child(2)").all_inner_texts():
        assert word.lower() in name.lower()
    page.get_by_role("button", name="Clear filters").click()
    expect(page.get_by_text(f"1{DASH}25 of {number(total)} products")).to_be_visible()
    expect(page.get_by_label("Name contains")).to_have_value("")

    # The sample's products are all active.
    page.get_by_label("Active", exact=True).select_option("false")
    expect(page.get_by_text("No product matches these filters.")).to_be_visible()
    page.get_by_label("Active", exact=True).select_option("")
    expect(rows).to_have_count(25)

    # The search box (debounced) finds one product by its SKU, in another letter case.
    target = api.get("/api/products/", page_size=11)["results"][10]
    page.get_by_label("Search", exact=True).fill(target["sku"].upper())
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(target["sku"])
    screenshot(page, "05-products-search")

    # Edit it in the dialog.
    rows.first.get_by_role("button", name=re.compile("^Edit")).click()
    dialog = page.get_by_role("dialog", name="Edit product")
    expect(dialog.get_by_label("SKU")).to_have_value(target["sku"])
    expect(dialog.get_by_label("SKU")).to_be_focused()
    dialog.get_by_label("Name").fill("Edited in the browser")
    dialog.get_by_label("Active").uncheck()
    screenshot(page, "06-product-edit")
    dialog.get_by_role("button", name="Save changes").click()
    expect(dialog).to_be_hidden()
    expect(rows.first).to_contain_text("Edited in the browser")
    expect(page.get_by_text(f"Saved {target['sku']}.")).to_be_visible()
    edited = api.get(f"/api/products/{target['id']}/")
    assert (edited["name"], edited["active"]) == ("Edited in the browser", False)


def test_a_duplicate_sku_is_shown_at_the_field(
    signed_in: Page, api: Api, browser_errors: BrowserErrors
) -> None:
    browser_errors.expect(r"status of 400")  # the browser logs the refused request itself
    api.post("/api/products/", {"sku": "LAMP-1", "name": "Desk lamp"})
    page = signed_in
    page.get_by_role("link", name="Products").click()
    page.get_by_role("button", name="New product").click()
    dialog = page.get_by_role("dialog", name="New product")
    dialog.get_by_label("SKU").fill("lamp-1")
    dialog.get_by_label("Name").fill("Another lamp")
    dialog.get_by_role("button", name="Create product").click()
    expect(dialog.get_by_label("SKU")).to_have_attribute("aria-invalid", "true")
    expect(dialog.get_by_text(re.compile("already exists"))).to_be_visible()
    assert api.product_count() == 1


def test_delete_one_product_after_confirming(signed_in: Page, api: Api) -> None:
    for sku in ("KEEP-1", "GONE-1"):
        api.post("/api/products/", {"sku": sku, "name": sku.title()})
    page = signed_in
    page.get_by_role("link", name="Products").click()
    page.get_by_role("button", name="Delete GONE-1").click()
    confirm = page.get_by_role("alertdialog", name="Delete product")
    expect(confirm).to_contain_text("This cannot be undone.")
    confirm.get_by_role("button", name="Delete", exact=True).click()
    expect(page.get_by_role("region", name="Products").locator("tbody tr")).to_have_count(1)
    assert [p["sku"] for p in api.get("/api/products/")["results"]] == ["KEEP-1"]


def test_delete_all_needs_the_word_then_shows_progress_and_a_notice(
    signed_in: Page, api: Api
) -> None:
    api.import_csv(SAMPLE)
    total = api.product_count()
    page = signed_in
    page.get_by_role("link", name="Products").click()
    # Escape closes the dialog, and nothing happens.
    page.get_by_role("button", name="Delete all…").click()
    dialog = page.get_by_role("alertdialog", name="Delete all products")
    expect(dialog.get_by_label("Type DELETE to confirm")).to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("button", name="Delete all…")).to_be_focused()

    page.get_by_role("button", name="Delete all…").click()
    expect(dialog).to_contain_text("Are you sure? This cannot be undone.")
    confirm = dialog.get_by_role("button", name="Delete all products")
    expect(confirm).to_be_disabled()
    dialog.get_by_label("Type DELETE to confirm").fill("delete")
    expect(confirm).to_be_disabled()
    dialog.get_by_label("Type DELETE to confirm").fill("DELETE")
    screenshot(page, "07-delete-all-dialog")
    confirm.click()

    progress = page.get_by_role("region", name="Progress of Delete all products")
    expect(progress.get_by_text("Delete complete")).to_be_visible(timeout=60_000)
    expect(progress.get_by_text("100 %")).to_be_visible()
    expect(page.get_by_text(f"Deleted {number(total)} products.")).to_be_visible()
    expect(page.get_by_text("No products yet: import a CSV.")).to_be_visible()
    screenshot(page, "08-delete-all-done")
    assert api.product_count() == 0


def test_a_viewer_reads_and_is_told_why_the_rest_is_disabled(
    viewer: User, dashboard: Page, api: Api, tmp_path: Path
) -> None:
    catalog = tmp_path / "catalog.csv"
    catalog.write_text("sku,name\nREAD-1,Readable\nREAD-2,Also readable\n")
    api.import_csv(catalog)
    page = dashboard
    sign_in(page, "/products", username="vic")
    expect(page.get_by_test_id("role")).to_have_text("viewer")
    expect(page.get_by_role("region", name="Products").locator("tbody tr")).to_have_count(2)
    expect(page.get_by_role("link", name="Export CSV")).to_be_visible()
    new = page.get_by_role("button", name="New product")
    expect(new).to_be_disabled()
    expect(new).to_have_accessible_description(
        "Only an editor or an admin can add, edit or delete products (your role: viewer)."
    )
    delete_all = page.get_by_role("button", name="Delete all…")
    expect(delete_all).to_be_disabled()
    expect(
        page.get_by_text("Only an admin can delete all products (your role: viewer).")
    ).to_be_visible()
    row_actions = page.get_by_role("region", name="Products").get_by_role(
        "button", name=re.compile(r"^(Edit|Delete)")
    )
    expect(row_actions).to_have_count(0)
    screenshot(page, "10-viewer-products")

    page.get_by_role("link", name="Import").click()
    expect(page.get_by_label("Choose a file")).to_be_disabled()
    expect(page.get_by_text("Only an editor or an admin can import products")).to_be_visible()
    expect(page.get_by_role("cell", name="catalog.csv", exact=True)).to_be_visible()  # history
    page.get_by_role("link", name="Webhooks").click()
    expect(
        page.get_by_text("Only an admin can see and manage webhooks (your role: viewer).")
    ).to_be_visible()
    screenshot(page, "11-viewer-webhooks")
    # What the page does not offer, the API refuses, in words.
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    response = page.request.post("/api/products/bulk_delete/", headers={"X-CSRFToken": csrf})
    assert response.status == 403
    assert response.json() == {
        "detail": "Only an admin may delete all products; your role is viewer."
    }


def test_the_dashboard_fits_a_phone(signed_in: Page, api: Api) -> None:
    api.post(
        "/api/products/",
        {"sku": "PHONE-1", "name": "A product with a long name " * 3, "description": "x" * 200},
    )
    page = signed_in
    page.set_viewport_size({"width": 360, "height": 740})
    for path, heading in [
        ("/imports", "Import products"),
        ("/products", "Products"),
        ("/webhooks", "Webhooks"),
    ]:
        page.goto(path)
        expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, f"{path} is {width} px wide at 360 px"
        screenshot(page, f"09-phone{path.replace('/', '-')}")


def test_the_keyboard_reaches_the_navigation_with_a_visible_focus(signed_in: Page) -> None:
    page = signed_in
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    products = page.get_by_role("link", name="Products")
    expect(products).to_be_focused()
    assert products.evaluate("element => getComputedStyle(element).outlineStyle") == "solid"
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Products", exact=True)).to_be_visible()


def test_an_unknown_page_is_said_and_the_api_stays_json(
    signed_in: Page, live_server_url: str
) -> None:
    signed_in.goto("/no-such-page")
    expect(signed_in.get_by_role("heading", name="Page not found")).to_be_visible()
    response = requests.get(f"{live_server_url}/api/no-such-thing/", timeout=5)
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_the_page_is_asked_for_each_time_and_its_assets_are_cached_for_good(
    live_server_url: str,
) -> None:
    page = requests.get(f"{live_server_url}/webhooks", timeout=5)
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-cache"
    script = re.search(r'src="(/assets/[^"]+\.js)"', page.text)
    assert script is not None, page.text
    asset = requests.get(f"{live_server_url}{script.group(1)}", timeout=5)
    assert asset.status_code == 200
    assert asset.headers["Content-Type"].startswith("text/javascript")
    assert "immutable" in asset.headers["Cache-Control"]


class Receiver(ThreadingHTTPServer):
    """A webhook receiver on 127.0.0.1 that answers 200 and keeps what it was sent."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), ReceiverHandler)
        self.received: list[dict[str, Any]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hooks/catalog"


class ReceiverHandler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.received.append(
            {"path": self.path, "headers": dict(self.headers), "body": json.loads(body)}
        )
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_add_a_webhook_test_it_and_redeliver_from_its_log(
    signed_in: Page, api: Api, receiver: Receiver
) -> None:
    page = signed_in
    page.get_by_role("link", name="Webhooks").click()
    expect(page.get_by_text("No webhooks yet.")).to_be_visible()
    page.get_by_role("button", name="Add a webhook").click()
    dialog = page.get_by_role("dialog", name="Add a webhook")

    # The browser checks the URL before the server does.
    dialog.get_by_label("URL").fill("not a url")
    dialog.get_by_role("button", name="Add webhook").click()
    expect(
        dialog.get_by_text("Enter a full URL, such as https://example.com/hooks/catalog.")
    ).to_be_visible()
    dialog.get_by_label("URL").fill(receiver.url)
    dialog.get_by_label("Description (optional)").fill("The warehouse")
    events = dialog.get_by_role("group", name="Events")
    expect(events.get_by_role("checkbox")).to_have_count(8)
    events.get_by_role("checkbox", name=re.compile("^import.failed")).uncheck()
    screenshot(page, "10-webhook-add")
    dialog.get_by_role("button", name="Add webhook").click()

    # The secret, once, with a copy button.
    secret_dialog = page.get_by_role("dialog", name="The webhook's secret")
    secret = secret_dialog.get_by_role("textbox").input_value()
    assert secret.startswith("whsec_")
    expect(secret_dialog.get_by_role("button", name="Copy")).to_be_visible()
    screenshot(page, "11-webhook-secret")
    secret_dialog.get_by_role("button", name="Done").click()
    webhook = api.get("/api/webhooks/")["results"][0]
    assert webhook["url"] == receiver.url
    assert "import.failed" not in webhook["events"]
    assert len(webhook["events"]) == 7
    assert "secret" not in webhook

    card = page.get_by_role("listitem").filter(has=page.get_by_role("heading", name=receiver.url))
    card.get_by_role("button", name="Test").click()
    expect(
        card.get_by_text(re.compile(r"Test delivered: the receiver answered 200 in \d+ ms\."))
    ).to_be_visible()
    assert receiver.received[-1]["body"]["type"] == "webhook.test"
    assert "webhook-signature" in {name.lower() for name in receiver.received[-1]["headers"]}

    # A product created elsewhere reaches the receiver and the delivery log; send it again.
    api.post("/api/products/", {"sku": "HOOK-1", "name": "Hooked"})
    card.get_by_role("button", name="Deliveries").click()
    log = card.get_by_role("region", name="Deliveries")
    delivered = log.get_by_role("row").filter(has_text="product.created")
    # The log was opened before the worker recorded the delivery: it looks again by itself.
    expect(delivered).to_contain_text("Delivered", timeout=30_000)
    expect(card.get_by_text(re.compile(r"Last delivery .*: 200 in \d+ ms\."))).to_be_visible()
    delivered.get_by_role("button", name="Redeliver").first.click()
    expect(log.get_by_role("row").filter(has_text="product.created")).to_have_count(2)
    expect(log.get_by_role("row").filter(has_text="product.created").first).to_contain_text(
        "Delivered", timeout=30_000
    )
    product_events = [r for r in receiver.received if r["body"]["type"] == "product.created"]
    assert len(product_events) == 2
    screenshot(page, "12-webhooks")

    # The switch turns it off.
    switch = card.get_by_role("switch", name=f"Enabled: {receiver.url}")
    expect(switch).to_be_checked()
    switch.click()
    expect(switch).not_to_be_checked()
    assert api.get(f"/api/webhooks/{webhook['id']}/")["enabled"] is False

    # Delete it after confirming.
    card.get_by_role("button", name="Delete").click()
    page.get_by_role("alertdialog", name="Delete webhook").get_by_role(
        "button", name="Delete", exact=True
    ).click()
    expect(page.get_by_text("No webhooks yet.")).to_be_visible()
    assert api.get("/api/webhooks/")["count"] == 0
