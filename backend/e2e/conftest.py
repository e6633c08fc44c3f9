"""The dashboard in a real browser: Debian's Chromium driven by Playwright, against the live stack.

The live web server (uvicorn) and Celery worker of `backend/conftest.py` run on the test database;
the dashboard is the build in `frontend/dist` (`make test` builds it first). No browser is ever
downloaded: Playwright drives `/usr/bin/chromium` (`apt-get install chromium`; `.ci/run` does it).
Each test gets a fresh browser, fails on any error in the browser's console, and saves
screenshots to `frontend/test-results/e2e/` (git-ignored).
"""

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from django.conf import settings
from django.contrib.auth.models import User
from playwright.sync_api import ConsoleMessage, Error, Page, expect, sync_playwright
from rest_framework.authtoken.models import Token

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "frontend" / "test-results" / "e2e"
PASSWORD = "correct-horse-battery"  # noqa: S105 (the `user` fixture's)

expect.set_options(timeout=30_000)


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


@pytest.fixture
def browser_errors() -> BrowserErrors:
    return BrowserErrors()


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

    def post(self, path: str, body: dict[str, Any]) -> Any:
        response = self.session.post(f"{self.base_url}{path}", json=body, timeout=30)
        assert response.status_code in {200, 201, 202}, response.text
        return response.json()

    def product_count(self, **filters: Any) -> int:
        return int(self.get("/api/products/", page_size=1, **filters)["count"])

    def import_csv(self, csv: Path) -> dict[str, Any]:
        """Uploads a catalog and waits for its job to end; returns the job."""
        with csv.open("rb") as file:
            response = self.session.post(
                f"{self.base_url}/api/products/upload/",
                files={"file": (csv.name, file, "text/csv")},
                timeout=60,
            )
        assert response.status_code == 202, response.text
        job = response.json()
        deadline = time.monotonic() + 120
        while job["status"] not in {"COMPLETED", "FAILED"}:
            assert time.monotonic() < deadline, job
            time.sleep(0.2)
            job = self.get(f"/api/job/{job['id']}/status/")
        assert job["status"] == "COMPLETED", job
        return dict(job)


@pytest.fixture
def api(live_server_url: str, user: User) -> Api:
    """Made before the browser starts: its token is the test's only database work."""
    token, _ = Token.objects.get_or_create(user=user)
    return Api(live_server_url, token.key)


@pytest.fixture
def dashboard(
    live_server_url: str,
    worker: None,
    api: Api,
    browser_errors: BrowserErrors,
    request: pytest.FixtureRequest,
) -> Iterator[Page]:
    """A page of a fresh headless Chromium at the live server, not signed in yet."""
    # Skipped where the browser or the build is missing, except where they must be (CI).
    missing = pytest.fail if os.environ.get("REQUIRE_BROWSER") else pytest.skip
    if not CHROMIUM.exists():
        missing(f"{CHROMIUM} is missing: apt-get install chromium")
    if not (settings.FRONTEND_DIST / "index.html").exists():
        missing("the dashboard is not built: make test builds it (npm ci && npm run build)")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        context = browser.new_context(
            base_url=live_server_url, viewport={"width": 1280, "height": 900}
        )
        page = context.new_page()
        page.on("console", browser_errors.on_console)
        page.on("pageerror", browser_errors.on_page_error)
        try:
            yield page
        finally:
            failed = getattr(request.node, "rep_call", None)
            if failed is not None and failed.failed:
                page.screenshot(
                    path=SCREENSHOTS / f"FAILED-{request.node.name}.png", full_page=True
                )
            context.close()
            browser.close()
    assert browser_errors.unexpected() == [], "the browser logged errors"


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Any:
    report = yield
    if report.when == "call":
        item.rep_call = report  # type: ignore[attr-defined]
    return report


def screenshot(page: Page, name: str) -> None:
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)


def sign_in(page: Page, path: str = "/", username: str = "alice", password: str = PASSWORD) -> None:
    page.goto(path)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("username")).to_have_text(username)


@pytest.fixture
def signed_in(dashboard: Page) -> Page:
    sign_in(dashboard)
    return dashboard
