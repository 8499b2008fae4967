"""The Content-Security-Policy in a real browser: it blocks injected script, and breaks no page."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Error, expect

from booking.tests.conftest import make_artist, next_week

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def csp_violations(page) -> list[str]:
    """Chromium reports every blocked script, style or request on the console."""
    found: list[str] = []
    page.on(
        "console", lambda message: found.append(message.text) if "Content Security Policy" in message.text else None
    )
    return found


def test_the_booking_page_works_under_the_policy(page, live_server):
    violations = csp_violations(page)
    artist = make_artist(slug="csp-artist", working_hours={str(d): [["10:00", "14:00"]] for d in range(7)})
    day = next_week(12).astimezone(ZoneInfo("Europe/Berlin")).date()

    page.goto(f"{live_server.url}/book/")
    page.select_option("#artist", str(artist.pk))
    page.fill("#date", day.isoformat())
    page.fill("#time", "20:00")

    expect(page.locator("#indicator")).to_have_text("Not available: outside working hours")
    assert violations == []


def test_the_admin_works_under_the_policy(admin_page, live_server, admin_user):
    violations = csp_violations(admin_page)

    admin_page.goto(f"{live_server.url}/admin/auth/user/{admin_user.pk}/change/")

    # DateTimeShortcuts (admin JavaScript) adds "Today" and a calendar next to date fields.
    expect(admin_page.locator(".datetimeshortcuts").first).to_be_visible()
    admin_page.goto(f"{live_server.url}/admin/axes/accessattempt/")
    expect(admin_page.locator("#changelist")).to_be_visible()
    assert violations == []


def test_the_api_docs_render_under_the_policy(page, live_server):
    violations = csp_violations(page)

    page.goto(f"{live_server.url}/api/docs/")

    expect(page.locator(".swagger-ui .info .title")).to_contain_text("calsync API")
    expect(page.locator(".opblock").first).to_be_visible()
    assert violations == []


def test_an_injected_inline_script_does_not_run(page, live_server):
    violations = csp_violations(page)
    page.goto(f"{live_server.url}/book/")

    with pytest.raises(Error):
        page.add_script_tag(content="window.injected = true")

    assert page.evaluate("window.injected === undefined")
    assert violations
