"""A real browser: headless Chromium opens /docs, finds every operation and runs the health check.

Playwright drives Debian's Chromium (its own browser download is not used). Outside CI the
test skips, saying so, when no Chromium is installed; in CI (CI=true) that is a failure.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import BrowserContext, Route, expect, sync_playwright

from tests.chromium import FLAGS, require_chromium
from tests.conftest import REPO_ROOT
from tests.contract import LIVENESS
from tests.integration.conftest import LocalApi

pytestmark = pytest.mark.browser

SCREENSHOT = REPO_ROOT / "test-artifacts" / "docs.png"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@pytest.fixture(scope="module")
def chromium() -> str:
    return require_chromium()


@pytest.fixture
def browser(chromium: str, tmp_path: Path) -> Iterator[tuple[BrowserContext, list[str]]]:
    """A fresh profile; every request leaving loopback is blocked and recorded."""
    off_loopback: list[str] = []

    def loopback_only(route: Route) -> None:
        if urlsplit(route.request.url).hostname in LOOPBACK:
            route.continue_()
        else:
            off_loopback.append(route.request.url)
            route.abort()

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            user_data_dir=tmp_path / "chromium-profile",
            executable_path=chromium,
            headless=True,
            args=FLAGS,
            timeout=60_000,
        )
        context.route("**/*", loopback_only)
        try:
            yield context, off_loopback
        finally:
            context.close()


def test_swagger_ui_lists_every_operation_and_executes_the_health_check(
    local_api: LocalApi, browser: tuple[BrowserContext, list[str]]
) -> None:
    context, off_loopback = browser
    document = json.loads(local_api.request("GET", "/openapi.json").body)
    page = context.new_page()
    page.goto(f"{local_api.url}/docs", wait_until="load")

    expect(page.locator(".information-container .title")).to_contain_text(document["info"]["title"])
    for path, methods in document["paths"].items():
        for method in methods:
            expect(page.locator(f".opblock-{method}:has(.opblock-summary-path[data-path='{path}'])")).to_have_count(1)

    health = page.locator(".opblock-get:has(.opblock-summary-path[data-path='/api/v1/health'])")
    health.locator(".opblock-summary").click()
    health.locator("button.try-out__btn").click()
    health.locator("button.execute").click()

    live = health.locator(".live-responses-table .response")
    expect(live.locator(".response-col_status")).to_contain_text("200", timeout=15_000)
    expect(live.locator(".response-col_description")).to_contain_text(LIVENESS["message"])
    expect(live.locator(".response-col_description")).to_contain_text(f'"status": {json.dumps(LIVENESS["status"])}')

    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOT, full_page=True)
    assert SCREENSHOT.stat().st_size > 10_000
    assert off_loopback == [], "the docs page must load nothing from outside (no CDN)"
