"""The API's documentation pages render in a browser that cannot reach the internet."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _offline(page, live_server) -> list[str]:
    """Refuse every request that leaves the test server, and remember it: a CDN would show up here."""
    outside: list[str] = []

    def route(request_route) -> None:
        if request_route.request.url.startswith(live_server.url):
            request_route.continue_()
        else:
            outside.append(request_route.request.url)
            request_route.abort()

    page.route("**/*", route)
    return outside


def test_it_renders_swagger_ui_from_our_own_static_files(page, live_server):
    outside = _offline(page, live_server)

    page.goto(f"{live_server.url}/api/docs/")

    expect(page.locator(".opblock-summary-path").first).to_be_visible(timeout=15_000)
    assert page.locator(".opblock").count() > 20
    expect(page.locator(".opblock-summary-path", has_text="/api/sync-jobs/").first).to_be_visible()
    assert outside == []


def test_it_renders_redoc_from_our_own_static_files(page, live_server):
    outside = _offline(page, live_server)

    page.goto(f"{live_server.url}/api/redoc/")

    expect(page.locator("h1", has_text="calsync API")).to_be_visible(timeout=15_000)
    expect(page.locator("[data-section-id^='operation/']").first).to_be_attached()
    assert page.locator("[data-section-id^='operation/']").count() > 20
    assert outside == []
