"""The dashboard in a real browser: Debian's Chromium driven by Playwright, against the live stack.

The live web server (uvicorn) and Celery worker of `backend/conftest.py` run on the test database;
the dashboard is the build in `frontend/dist` (`make test` builds it first). No browser is ever
downloaded: Playwright drives `/usr/bin/chromium` (`apt-get install chromium`; `.ci/run` does it).
Each test gets a fresh browser, fails on any error in the browser's console, and saves
screenshots to `frontend/test-results/e2e/` (git-ignored).
"""

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect, sync_playwright
from rest_framework.authtoken.models import Token

from core.roles import VIEWER, assign_role

from .helpers import PASSWORD, SCREENSHOTS, Api, BrowserErrors, sign_in

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

expect.set_options(timeout=30_000)


@pytest.fixture
def browser_errors() -> BrowserErrors:
    return BrowserErrors()


@pytest.fixture
def api(live_server_url: str, user: User) -> Api:
    """Made before the browser starts: its token is the test's only database work."""
    token, _ = Token.objects.get_or_create(user=user)
    return Api(live_server_url, token.key)


@pytest.fixture
def viewer(user: User) -> User:
    """vic, a viewer (alice is an admin). Name it before `dashboard`: made before the browser."""
    vic = User.objects.create_user(username="vic", password=PASSWORD)
    assign_role(vic, VIEWER)
    return vic


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


@pytest.fixture
def signed_in(dashboard: Page) -> Page:
    sign_in(dashboard)
    return dashboard
