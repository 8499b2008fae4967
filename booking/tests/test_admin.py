"""The booking admin: artists with calendars and hours, appointments with actions, sync logs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client

from booking.models import Appointment, BusyBlock, CalendarSyncLog
from booking.tests.conftest import attach_calendar, make_artist, new_calendar, next_week

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client() -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("boss", "boss@example.org", "pw"))
    return client


def test_every_booking_admin_page_renders_with_its_rows(admin_client):
    artist = make_artist(slug="maja")
    start = next_week(10)
    appointment = Appointment.objects.create(
        artist=artist,
        client_name="Ada",
        client_email="ada@example.org",
        start=start,
        end=start + timedelta(hours=1),
        push_state="conflict",
    )
    CalendarSyncLog.objects.create(direction="pull", action="pull", status="error", message="server down")
    pages = {
        "/admin/booking/artist/": "Maja",
        f"/admin/booking/artist/{artist.pk}/change/": "Working hours",
        "/admin/booking/appointment/": "conflict",
        f"/admin/booking/appointment/{appointment.pk}/change/": appointment.caldav_uid,
        "/admin/booking/busyblock/": "0 busy blocks",
        "/admin/booking/calendarsynclog/": "error",
    }
    for url, text in pages.items():
        response = admin_client.get(url)
        assert response.status_code == 200, url
        assert text in response.content.decode(), url


def test_the_confirm_and_cancel_actions_change_the_selected_appointments(admin_client):
    artist = make_artist()
    start = next_week(10)
    appointment = Appointment.objects.create(
        artist=artist, client_name="Ada", client_email="ada@example.org", start=start, end=start + timedelta(hours=1)
    )
    url = "/admin/booking/appointment/"
    admin_client.post(url, {"action": "confirm", "_selected_action": [appointment.pk]})
    assert Appointment.objects.get(pk=appointment.pk).status == "confirmed"
    admin_client.post(url, {"action": "cancel", "_selected_action": [appointment.pk]})
    assert Appointment.objects.get(pk=appointment.pk).status == "cancelled"


def test_working_hours_the_check_could_not_read_are_refused_in_the_form(admin_client):
    artist = make_artist()
    form = {
        "name": artist.name,
        "slug": artist.slug,
        "email": "",
        "time_zone": "Europe/Berlin",
        "active": "on",
        "working_hours": '{"0": [["10:00", "25:00"]]}',
        "buffer_minutes": 0,
        "min_notice_minutes": 0,
        "slot_step_minutes": 30,
        "calendars-TOTAL_FORMS": 0,
        "calendars-INITIAL_FORMS": 0,
    }
    response = admin_client.post(f"/admin/booking/artist/{artist.pk}/change/", form)
    assert response.status_code == 200 and "Working hours: &#x27;25:00&#x27; is not a time of day" in (
        response.content.decode()
    )
    form["working_hours"] = '{"0": [["10:00", "20:00"]]}'
    assert admin_client.post(f"/admin/booking/artist/{artist.pk}/change/", form).status_code == 302
    artist.refresh_from_db()
    assert artist.working_hours == {"0": [["10:00", "20:00"]]}


def test_the_artist_actions_pull_and_test_their_calendars_against_a_real_server(admin_client, radicale):
    artist = make_artist()
    attach_calendar(artist, radicale, new_calendar(radicale))
    url = "/admin/booking/artist/"
    pulled = admin_client.post(url, {"action": "pull_now", "_selected_action": [artist.pk]}, follow=True)
    assert "1 calendars pulled, 0 failed." in pulled.content.decode()
    assert not BusyBlock.objects.filter(artist=artist).exists()
    tested = admin_client.post(url, {"action": "test_calendars", "_selected_action": [artist.pk]}, follow=True)
    assert "Connected: 0 items in the calendar." in tested.content.decode()
