"""The booking page in headless Chromium: live indicator, clickable slots, confirmation, refusal."""

from __future__ import annotations

import contextlib
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from booking.models import Appointment
from booking.tests.conftest import make_artist, next_week

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_client_picks_a_free_slot_sees_the_indicator_change_without_reload_and_books_it(page, live_server):
    make_artist(slug="noor", working_hours={str(d): [["10:00", "14:00"]] for d in range(7)}, slot_step_minutes=60)
    artist = make_artist(
        slug="maja", working_hours={str(d): [["10:00", "14:00"]] for d in range(7)}, slot_step_minutes=60
    )
    day = next_week(12).astimezone(ZoneInfo("Europe/Berlin")).date()
    page.goto(f"{live_server.url}/book/")
    page.evaluate("window.notReloaded = true")
    page.select_option("#artist", str(artist.pk))
    page.fill("#date", day.isoformat())
    page.fill("#time", "20:00")
    expect(page.locator("#indicator")).to_have_text("Not available: outside working hours")
    page.locator("#slots button", has_text="11:00").click()
    expect(page.locator("#indicator")).to_have_text("Available")
    page.fill("#client_name", "Ada")
    page.fill("#client_email", "ada@example.org")
    page.click("#submit")
    expect(page.locator("#result")).to_contain_text("Request received")
    assert page.evaluate("window.notReloaded") is True
    booked = Appointment.objects.get(artist=artist)
    assert booked.start.astimezone(ZoneInfo("Europe/Berlin")).hour == 11 and booked.status == "pending"
    # The slot left the list, and the indicator now says taken.
    expect(page.locator("#slots button", has_text="11:00")).to_have_count(0)
    expect(page.locator("#indicator")).to_have_text("Not available: already taken")


def test_a_slot_taken_meanwhile_is_refused_clearly(page, live_server):
    artist = make_artist(slug="ink", working_hours={str(d): [["10:00", "14:00"]] for d in range(7)})
    start = next_week(12)
    local = start.astimezone(ZoneInfo("Europe/Berlin"))
    page.goto(f"{live_server.url}/book/")
    page.fill("#date", local.date().isoformat())
    page.fill("#time", local.strftime("%H:%M"))
    expect(page.locator("#indicator")).to_have_text("Available")
    Appointment.objects.create(
        artist=artist, client_name="Other", client_email="o@example.org", start=start, end=start + timedelta(hours=1)
    )
    page.fill("#client_name", "Ada")
    page.fill("#client_email", "ada@example.org")
    page.click("#submit")
    expect(page.locator("#result")).to_have_text("Sorry: That time is already taken.")


def _until(page, condition, what: str) -> None:
    for _ in range(500):  # a bound, so a page that never gets there fails instead of hanging
        if condition():
            return
        page.wait_for_timeout(20)
    pytest.fail(f"never happened: {what}")


def test_overlapping_slot_reloads_show_each_free_slot_once_and_the_newest_answer_wins(page, live_server):
    artist = make_artist(
        slug="lio", working_hours={str(d): [["10:00", "14:00"]] for d in range(7)}, slot_step_minutes=60
    )
    day = next_week(12).astimezone(ZoneInfo("Europe/Berlin")).date()
    held, settled = [], []
    page.on("requestfinished", lambda request: settled.append(request.url))
    page.on("requestfailed", lambda request: settled.append(request.url))

    def hold_the_first(route):
        if not held:
            held.append(route)  # the first reload's answer is late
        else:
            route.continue_()

    page.goto(f"{live_server.url}/book/")
    page.select_option("#artist", str(artist.pk))
    page.route("**/api/artists/*/slots?*", hold_the_first)
    page.fill("#date", day.isoformat())  # reload 1: one-hour slots, held back
    _until(page, lambda: held, "the first reload")
    page.select_option("#duration", "120")  # reload 2: two-hour slots, answered at once
    expect(page.locator("#slots button")).to_have_text(["10:00", "11:00", "12:00"])

    # The older answer comes in last, unless the page already gave up on it.
    with contextlib.suppress(PlaywrightError):
        held[0].continue_()
    _until(page, lambda: held[0].request.url in settled, "the first reload settling")
    page.evaluate("() => new Promise((done) => setTimeout(done, 100))")  # let the page handle it

    assert "duration=60" in held[0].request.url
    expect(page.locator("#slots button")).to_have_text(["10:00", "11:00", "12:00"])
