"""The person who booked hears about it: a mail for each step, with an .ics that updates one event."""

from __future__ import annotations

import logging
import socket
from datetime import timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from booking.models import Appointment
from booking.tests.conftest import make_artist, next_week

pytestmark = pytest.mark.django_db


@pytest.fixture
def public() -> APIClient:
    return APIClient()


@pytest.fixture
def staff() -> APIClient:
    api = APIClient()
    api.force_authenticate(User.objects.create_user("staff", is_staff=True))
    return api


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run what services queue for after the commit, as a real request would."""

    def run(call):
        with django_capture_on_commit_callbacks(execute=True):
            return call()

    return run


def book(public: APIClient, artist, start, **extra):
    payload = {"artist": artist.slug, "client_name": "Ada Lovelace", "client_email": "ada@example.org",
               "start": start.isoformat(), "duration": 60, **extra}  # fmt: skip
    return public.post("/api/appointments", payload, format="json")


def invitation(message) -> icalendar.Event:
    (name, data, mimetype), *_ = message.attachments
    assert name == "appointment.ics"
    calendar = icalendar.Calendar.from_ical(data)
    method = str(calendar["METHOD"])
    assert mimetype == f"text/calendar; method={method}; charset=utf-8"
    (event,) = calendar.walk("VEVENT")
    event.method = method
    return event


def test_a_booking_request_mails_the_client_a_tentative_invitation(public, committed, mailoutbox):
    artist = make_artist(name="Mira Lenz", email="mira@studio.example")
    start = next_week(9)

    response = committed(lambda: book(public, artist, start))

    assert response.status_code == 201
    appointment = Appointment.objects.get()
    (mail,) = mailoutbox
    assert mail.to == ["ada@example.org"]
    assert mail.reply_to == ["mira@studio.example"]
    assert mail.subject.startswith("Request received: Mira Lenz, ")
    assert f"{start.astimezone(ZoneInfo('Europe/Berlin')):%H:%M} to " in mail.subject  # the artist's wall clock
    event = invitation(mail)
    assert event.method == "REQUEST"
    assert str(event["UID"]) == appointment.caldav_uid
    assert event.decoded("DTSTART") == start
    assert event.decoded("DTEND") == start + timedelta(hours=1)
    assert str(event["STATUS"]) == "TENTATIVE"
    assert str(event["ORGANIZER"]) == "mailto:mira@studio.example"
    assert str(event["ATTENDEE"]) == "mailto:ada@example.org"


def test_confirming_mails_a_confirmed_update_of_the_same_event(public, staff, committed, mailoutbox):
    artist = make_artist()
    appointment_id = committed(lambda: book(public, artist, next_week(9))).json()["id"]

    committed(lambda: staff.post(f"/api/appointments/{appointment_id}/confirm"))
    committed(lambda: staff.post(f"/api/appointments/{appointment_id}/confirm"))  # nothing new to say

    requested, confirmed = mailoutbox
    assert confirmed.subject.startswith("Confirmed: ")
    assert invitation(confirmed)["UID"] == invitation(requested)["UID"]
    assert str(invitation(confirmed)["STATUS"]) == "CONFIRMED"
    assert int(invitation(confirmed)["SEQUENCE"]) >= int(invitation(requested)["SEQUENCE"])


def test_cancelling_mails_a_cancel_that_removes_the_event(public, staff, committed, mailoutbox):
    artist = make_artist()
    appointment_id = committed(lambda: book(public, artist, next_week(9))).json()["id"]

    committed(lambda: staff.post(f"/api/appointments/{appointment_id}/cancel"))

    cancelled = mailoutbox[-1]
    assert cancelled.subject.startswith("Cancelled: ")
    event = invitation(cancelled)
    assert event.method == "CANCEL" and str(event["STATUS"]) == "CANCELLED"
    assert str(event["UID"]) == Appointment.objects.get().caldav_uid


def test_moving_mails_the_new_time(public, staff, committed, mailoutbox):
    artist = make_artist()
    appointment_id = committed(lambda: book(public, artist, next_week(9))).json()["id"]
    new_start = next_week(13)

    response = committed(
        lambda: staff.patch(
            f"/api/appointments/{appointment_id}",
            {"start": new_start.isoformat(), "end": (new_start + timedelta(hours=2)).isoformat()},
            format="json",
        )
    )

    assert response.status_code == 200
    moved = mailoutbox[-1]
    assert moved.subject.startswith("New time: ")
    event = invitation(moved)
    assert event.method == "REQUEST"
    assert (event.decoded("DTSTART"), event.decoded("DTEND")) == (new_start, new_start + timedelta(hours=2))


def test_a_refused_booking_mails_nobody(public, committed, mailoutbox):
    artist = make_artist()
    committed(lambda: book(public, artist, next_week(9)))

    second = committed(lambda: book(public, artist, next_week(9), client_email="bob@example.org"))

    assert second.status_code == 409
    assert [mail.to for mail in mailoutbox] == [["ada@example.org"]]


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_mail_server_that_is_down_never_fails_the_booking(public, committed, settings, caplog):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", _closed_port()
    settings.EMAIL_HOST_PASSWORD = "smtp-secret-123"
    artist = make_artist()

    with caplog.at_level(logging.ERROR, logger="booking.emails"):
        response = committed(lambda: book(public, artist, next_week(9)))

    assert response.status_code == 201
    assert Appointment.objects.get().status == "pending"
    assert "booking mail requested to ada@example.org not sent: ConnectionRefusedError" in caplog.text
    assert "smtp-secret-123" not in caplog.text
