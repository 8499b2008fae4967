"""The console in headless Chromium at 1280x800: the dashboard follows a run live, and both the
dashboard and the admin index fit the screen. The screenshots in docs/img come from here:
`CALSYNC_SCREENSHOTS=docs/img make test-embedded PYTEST_ARGS="-k dashboard_browser"` refreshes
them; otherwise they go to the test's own temporary directory, so a test run leaves the tree clean."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import expect

from calsync.testing.console import dashboard_world
from jobs.models import SyncRun

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    wanted = os.environ.get("CALSYNC_SCREENSHOTS")
    return Path(settings.BASE_DIR, wanted) if wanted else tmp_path


@pytest.fixture
def screen(admin_page):
    admin_page.set_viewport_size({"width": 1280, "height": 800})
    return admin_page


def _fits_width(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_the_dashboard_fits_1280_pixels_and_shows_jobs_attention_health_and_history(screen, screenshots, live_server):
    world = dashboard_world()

    screen.goto(f"{live_server.url}/")

    expect(screen.locator("h1")).to_have_text("Dashboard")
    expect(screen.locator(f'tr[data-job="{world.migrate.pk}"] [data-status]')).to_have_text("Running")
    expect(screen.locator(".attention")).to_contain_text("Nextcloud answered 401")
    expect(screen.locator('[data-health="workers"] .dot')).to_have_class("dot ok")
    expect(screen.locator(".chart svg").first).to_be_visible()
    assert _fits_width(screen)
    screen.screenshot(path=str(screenshots / "dashboard.png"))


def test_the_dashboard_follows_a_run_to_its_end_without_a_manual_reload(screen, live_server):
    world = dashboard_world()
    screen.goto(f"{live_server.url}/")
    row = screen.locator(f'tr[data-job="{world.migrate.pk}"]')
    expect(row.locator("[data-progress]")).to_have_text("652 of 1480 items")

    SyncRun.objects.filter(pk=world.running.pk).update(progress_done=1100)
    expect(row.locator("[data-progress]")).to_have_text("1100 of 1480 items")

    SyncRun.objects.filter(pk=world.running.pk).update(
        status="completed", progress_done=1480, created=1402, finished_at=timezone.now()
    )
    expect(row.locator("[data-status]")).to_have_text("Completed")
    expect(row).to_contain_text("1402 created")  # the page reloaded: the last result is the new run
    expect(screen.locator("#live")).to_be_hidden()


def test_the_admin_index_is_grouped_and_fits_1280_pixels(screen, screenshots, live_server):
    dashboard_world()

    screen.goto(f"{live_server.url}/admin/")

    expect(screen.locator("#site-name")).to_have_text("calsync")
    captions = screen.locator("#content-main caption").all_inner_texts()
    assert captions == ["MIGRATE & SYNC", "ICS FEEDS", "BOOKING", "CALDAV SERVER", "TIME SHEETS", "SYSTEM"]
    assert _fits_width(screen)
    screen.screenshot(path=str(screenshots / "admin-index.png"))

    screen.get_by_role("link", name="View site").click()
    expect(screen.locator("h1")).to_have_text("Dashboard")
