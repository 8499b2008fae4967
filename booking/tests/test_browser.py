"""The booking page in headless Chromium: live indicator, clickable slots, confirmation, refusal."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from booking.models import Appointment
from booking.tests.conftest import make_artist, next_week

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_client_picks_a_free_slot_sees_the_indicator_change_without_reload_and_books_it(page, live_server):
    make_artist(slug="noor", working_hours={str(d): [["10:00", "14:00"]] for d in range(7)}, slot_step_minutes=60)
    artist = make_artist(slug="maja", working_hours={str(d): [["10:00", "14:00"]] for d in range(7)},
                         slot_step_minutes=60)
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
    Appointment.objects.create(artist=artist, client_name="Other", client_email="o@example.org", start=start,
                               end=start + timedelta(hours=1))
    page.fill("#client_name", "Ada")
    page.fill("#client_email", "ada@example.org")
    page.click("#submit")
    expect(page.locator("#result")).to_have_text("Sorry: That time is already taken.")
