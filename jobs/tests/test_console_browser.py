"""The jobs console in headless Chromium at 1280x800: a job from its form to a finished run with a
pause and a resume (a real worker, Radicale → Xandikos), a failed run, the feed form, and the
lists at 1280 px. The pictures of the run page and the job form in docs/img come from here:
`CALSYNC_SCREENSHOTS=docs/img make test-embedded PYTEST_ARGS="-k console_browser"`."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import expect

from accounts.models import Account, Collection
from accounts.services import account_discover_collections
from calsync.testing import samples
from calsync.testing.console import dashboard_world
from feeds.models import IcsFeed
from jobs.models import SyncJob, SyncRun

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


def _account(owner, server, name: str) -> Account:
    account = Account.objects.create(
        owner=owner, name=name, kind="caldav", url=server.url, username=server.username, password=server.password
    )
    account_discover_collections(account=account)
    return account


def _calendar(server, name: str, objects: list[bytes]) -> str:
    from jobs.tests.test_sync_dav import fill

    return fill(server, "caldav", name, objects).url


def _items(server, url: str) -> int:
    from jobs.tests.test_sync_dav import connector

    dav = connector(server)
    collection = next(c for c in dav.list_collections() if c.url.rstrip("/") == url.rstrip("/"))
    count = len(dav.list_items(collection).items)
    dav.close()
    return count


@pytest.mark.broker
def test_a_job_goes_from_its_form_to_a_finished_run_with_a_pause_and_a_resume(
    screen, screenshots, live_server, admin_user, radicale, xandikos, start_celery_worker
):
    tag = uuid.uuid4().hex[:6]
    _calendar(radicale, f"Studio {tag}", [samples.timed_event(n) for n in range(6)])
    bookings = _calendar(xandikos, f"Bookings {tag}", [])
    source, destination = _account(admin_user, radicale, "Radicale"), _account(admin_user, xandikos, "Xandikos")
    studio = Collection.objects.get(account=source, display_name=f"Studio {tag}")
    target = Collection.objects.get(account=destination, display_name=f"Bookings {tag}")

    screen.goto(f"{live_server.url}/admin/jobs/syncjob/add/")
    screen.fill("#id_name", "Studio → bookings")
    screen.select_option("#id_source", str(source.pk))
    screen.select_option("#id_destination", str(destination.pk))
    screen.uncheck("input[name=components][value=VJOURNAL]")
    picker = screen.locator(f'select[name="collection_map__{studio.pk}"]')
    expect(picker).to_be_hidden()  # matching by name is the default
    screen.check("input[name=collection_map_mode][value=pick]")
    expect(picker).to_be_visible()
    expect(picker.locator(f'option[value="{target.pk}"]')).to_be_enabled()
    picker.select_option(str(target.pk))
    screen.locator(".field-components").scroll_into_view_if_needed()
    screen.screenshot(path=str(screenshots / "job-form.png"))
    screen.click("input[name=_continue]")

    job = SyncJob.objects.get(name="Studio → bookings")
    assert (job.collection_map, job.components) == ({studio.url: target.url}, ["VEVENT", "VTODO"])
    box = screen.locator("[data-run-box]")
    expect(box).to_contain_text("Never run")
    screen.get_by_role("button", name="Start now").click()
    expect(box.locator('[data-run="label"]')).to_have_text("Queued")
    screen.get_by_role("button", name="Pause").click()  # no worker yet: it pauses where it waits
    expect(box.locator('[data-run="label"]')).to_have_text("Paused")
    expect(screen.get_by_role("button", name="Pause")).to_be_hidden()

    start_celery_worker()
    screen.get_by_role("button", name="Resume").click()
    screen.fill("#id_name", "Studio → bookings (edited)")  # the page follows the run without a reload
    expect(box.locator('[data-run="label"]')).to_have_text("Completed", timeout=60_000)
    expect(screen.locator("#id_name")).to_have_value("Studio → bookings (edited)")
    expect(box.locator('[data-count="created"]')).to_have_text("6")
    expect(box.locator("form[data-action]:visible")).to_have_count(1)  # Start, nothing else
    assert _items(xandikos, bookings) == 6

    box.get_by_role("link", name="Run #").click()
    expect(screen.locator(".run-collections")).to_contain_text(f"Studio {tag}")
    expect(screen.locator("form[data-action]:visible")).to_have_count(0)
    expect(screen.locator('input[name="_save"], .deletelink')).to_have_count(0)
    assert _fits_width(screen)
    screen.screenshot(path=str(screenshots / "run-page.png"))


def test_a_failed_run_says_why_at_the_top_and_offers_no_buttons(screen, live_server):
    world = dashboard_world()

    screen.goto(f"{live_server.url}/admin/jobs/syncrun/{world.failed.pk}/change/")

    failure = screen.locator(".run-failure")
    expect(failure).to_contain_text("Nextcloud answered 401 Unauthorized")
    assert failure.bounding_box()["y"] < screen.locator("[data-run-box]").bounding_box()["y"]
    expect(screen.locator('[data-run="label"]')).to_have_text("Failed")
    expect(screen.locator("form[data-action]:visible")).to_have_count(0)


def test_the_run_page_follows_its_run_live_with_aligned_log_rows_and_the_buttons_that_apply(screen, live_server):
    world = dashboard_world()
    run = world.running
    screen.goto(f"{live_server.url}/admin/jobs/syncrun/{run.pk}/change/")
    expect(screen.locator('[data-run="progress"]')).to_have_text("652 of 1480 items")
    screen.evaluate("window.notReloaded = true")

    SyncRun.objects.filter(pk=run.pk).update(
        progress_done=900, created=700, report={"collections": {"/c/a/": {"name": "Projects", "created": 700}}}
    )
    run.logs.create(level="error", message="refused by the server (409)", item="/cal/x.ics")
    expect(screen.locator('[data-run="progress"]')).to_have_text("900 of 1480 items")
    expect(screen.locator('[data-count="created"]')).to_have_text("700")
    expect(screen.locator(".run-collections")).to_contain_text("Projects")
    row = screen.locator(".calsync-log tbody tr").first
    expect(row.locator("td")).to_have_count(4)  # as many cells as the header, in its order
    expect(row.locator("td").nth(2)).to_have_text("refused by the server (409)")
    expect(row.locator("td").nth(3)).to_have_text("/cal/x.ics")

    SyncRun.objects.filter(pk=run.pk).update(status="paused")
    expect(screen.get_by_role("button", name="Resume")).to_be_visible()
    expect(screen.get_by_role("button", name="Pause")).to_be_hidden()
    assert screen.evaluate("window.notReloaded") is True

    SyncRun.objects.filter(pk=run.pk).update(status="completed", progress_done=1480)
    expect(screen.locator('[data-run="label"]')).to_have_text("Completed")
    expect(screen.locator("form[data-action]:visible")).to_have_count(0)


def test_the_feed_form_prefills_the_owner_and_ticks_calendars_of_the_chosen_account(
    screen, live_server, admin_user, radicale
):
    tag = uuid.uuid4().hex[:6]
    _calendar(radicale, f"Anna {tag}", [samples.timed_event(1)])
    studio = _account(admin_user, radicale, "Studio")
    other = Account.objects.create(owner=admin_user, name="Other", kind="caldav", url="http://127.0.0.1:9/")
    Collection.objects.create(account=other, url="http://127.0.0.1:9/private/", kind="calendar", display_name="Private")
    anna = Collection.objects.get(account=studio, display_name=f"Anna {tag}")

    screen.goto(f"{live_server.url}/admin/feeds/icsfeed/add/")
    expect(screen.locator("#id_owner")).to_have_value(str(admin_user.pk))
    screen.fill("#id_path", f"studio/anna-{tag}")
    screen.select_option("#id_account", str(other.pk))
    expect(screen.get_by_label("Private (calendar)")).to_be_visible()
    screen.select_option("#id_account", str(studio.pk))
    expect(screen.get_by_label("Private (calendar)")).to_be_hidden()
    screen.get_by_label(f"Anna {tag} (calendar, 1 items)").check()
    screen.click("input[name=_save]")

    expect(screen.locator(".messagelist")).to_contain_text("was added successfully")
    assert IcsFeed.objects.get(path=f"studio/anna-{tag}").calendars == [anna.url]


def test_the_job_run_and_account_lists_show_every_column_at_1280_pixels(screen, live_server):
    dashboard_world()

    for page, column in (
        ("jobs/syncjob", "progress"),
        ("jobs/syncrun", "progress"),
        ("accounts/account", "collections"),
    ):
        screen.goto(f"{live_server.url}/admin/{page}/")
        results = screen.locator("#changelist .results")
        # The admin scrolls a wide table inside its box: the page itself would still fit.
        assert results.evaluate("e => e.scrollWidth <= e.clientWidth"), page
        header = screen.locator("#result_list thead th").filter(has_text=column)
        assert header.bounding_box()["x"] + header.bounding_box()["width"] <= 1280, page
        assert _fits_width(screen), page
