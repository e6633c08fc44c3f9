"""What the dashboard's tests share: the API client that arranges data, the browser's errors,
screenshots and signing in."""

import hashlib
import re
import time
from pathlib import Path
from typing import Any

import requests
from playwright.sync_api import ConsoleMessage, Error, Page, expect

SCREENSHOTS = Path(__file__).resolve().parents[2] / "frontend" / "test-results" / "e2e"
PASSWORD = "correct-horse-battery"  # noqa: S105 (the `user` fixture's)


class BrowserErrors:
    """Errors the page logged or threw; a test may name the few it expects."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.expected: list[re.Pattern[str]] = []

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.seen.append(f"console: {message.text} ({message.location.get('url')})")

    def on_page_error(self, error: Error) -> None:
        self.seen.append(f"page error: {error.message}")

    def expect(self, pattern: str) -> None:
        self.expected.append(re.compile(pattern))

    def unexpected(self) -> list[str]:
        return [e for e in self.seen if not any(p.search(e) for p in self.expected)]


class Api:
    """The live server's API with a token: how the tests arrange data and check outcomes.

    Playwright's sync API keeps its event loop marked as running in this thread while it runs, and
    Django's ORM refuses to work under a running loop, so the tests ask the API, as a script would.
    """

    def __init__(self, base_url: str, token: str) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Token {token}"

    def get(self, path: str, **params: Any) -> Any:
        response = self.session.get(f"{self.base_url}{path}", params=params, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self.session.post(f"{self.base_url}{path}", json=body, timeout=30)
        assert response.status_code in {200, 201, 202}, response.text
        return response.json()

    def product_count(self, **filters: Any) -> int:
        return int(self.get("/api/products/", page_size=1, **filters)["count"])

    def import_csv(self, csv: Path) -> dict[str, Any]:
        """Uploads a catalog and waits for its job to end; returns the job, completed."""
        job = self.upload(csv)
        assert job["status"] == "COMPLETED", job
        return job

    def upload(self, csv: Path, **fields: str) -> dict[str, Any]:
        """Uploads a catalog with the form's other `fields` (dry_run, mapping, ...) and waits
        for its job to end; returns the job, completed or failed."""
        with csv.open("rb") as file:
            response = self.session.post(
                f"{self.base_url}/api/products/upload/",
                data=fields,
                files={"file": (csv.name, file, "text/csv")},
                timeout=60,
            )
        assert response.status_code == 202, response.text
        return self.wait_for_job(response.json()["id"])

    def wait_for_job(self, job_id: str) -> dict[str, Any]:
        """The job once it has ended: completed, failed or cancelled."""
        deadline = time.monotonic() + 120
        job = self.get(f"/api/job/{job_id}/status/")
        while job["status"] not in {"COMPLETED", "FAILED", "CANCELLED"}:
            assert time.monotonic() < deadline, job
            time.sleep(0.2)
            job = self.get(f"/api/job/{job_id}/status/")
        return dict(job)

    def catalog_checksum(self) -> str:
        """SHA-256 of the whole catalog as the export writes it: every product in id order, with
        its SKU, name, description, active flag and both times."""
        response = self.session.get(f"{self.base_url}/api/products/export/", timeout=120)
        assert response.status_code == 200, response.text
        return hashlib.sha256(response.content).hexdigest()

    def product(self, sku: str) -> dict[str, Any]:
        """The one product of this SKU, as the API lists it."""
        found = self.get("/api/products/", sku=sku)["results"]
        assert len(found) == 1, found
        return dict(found[0])


def screenshot(page: Page, name: str) -> None:
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)


def sign_in(page: Page, path: str = "/", username: str = "alice", password: str = PASSWORD) -> None:
    page.goto(path)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("username")).to_have_text(username)
