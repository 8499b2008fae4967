"""A GDPR purge reaches the artist's calendar: the event keeps its time and loses the client.

Against a real Radicale: the event calsync wrote is rewritten through the usual push task, and
the audit trail names the person by a keyed pseudonym, not by a hash anyone can recompute.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from booking.gdpr import ERASED_CLIENT
from booking.models import Appointment
from booking.pushes import appointment_push
from booking.services import appointment_confirm, appointment_create, availability_check
from booking.tests.conftest import attach_calendar, make_artist, new_calendar, next_week, server_events
from calsync.ops.gdpr import person_ref
from calsync.ops.models import AuditEvent

pytestmark = pytest.mark.django_db

NAME, EMAIL, PHONE, MESSAGE = "Ada Lovelace", "ada.lovelace@example.org", "+49 30 1234567", "A dragon, left arm"


@pytest.fixture
def staff_client(client):
    client.force_login(User.objects.create_user("dpo", is_staff=True))
    return client


def booked_in_radicale(radicale):
    collection = new_calendar(radicale)
    artist = make_artist()
    attach_calendar(artist, radicale, collection, last_pulled_at=timezone.now())
    start = next_week(14)
    appointment, _ = appointment_create(
        artist=artist, client_name=NAME, client_email=EMAIL, client_phone=PHONE, description=MESSAGE,
        start=start, end=start + timedelta(hours=2),
    )  # fmt: skip
    assert appointment_push(appointment_id=appointment.pk) == "created"
    appointment_confirm(appointment=Appointment.objects.get(pk=appointment.pk))
    assert appointment_push(appointment_id=appointment.pk) == "updated"
    return artist, collection, Appointment.objects.get(pk=appointment.pk)


def test_a_purge_removes_the_clients_details_from_the_event_in_the_artists_calendar_but_keeps_the_time(
    radicale, staff_client, eager_tasks, django_capture_on_commit_callbacks
):
    artist, collection, appointment = booked_in_radicale(radicale)
    [before] = server_events(radicale, collection).values()
    assert NAME.encode() in before and EMAIL.encode() in before  # what there is to erase

    with django_capture_on_commit_callbacks(execute=True):
        answer = staff_client.post("/api/gdpr/purge", {"email": EMAIL.upper()}, content_type="application/json")

    assert answer.status_code == 200 and answer.json()["booking"] == 1
    [(href, after)] = server_events(radicale, collection).items()
    text = after.decode().replace("\r\n ", "")  # unfold long lines
    for personal in (NAME, "Lovelace", EMAIL, PHONE, MESSAGE, "dragon"):
        assert personal not in text
    assert f"SUMMARY:{ERASED_CLIENT}" in text
    assert "TRANSP:TRANSPARENT" not in text and "STATUS:CANCELLED" not in text  # it still blocks the time
    assert f"DTSTART:{appointment.start:%Y%m%dT%H%M%SZ}" in text
    assert f"DTEND:{appointment.end:%Y%m%dT%H%M%SZ}" in text
    assert href == appointment.caldav_href
    kept = Appointment.objects.get(pk=appointment.pk)
    assert (kept.client_name, kept.client_email, kept.client_phone, kept.description) == (ERASED_CLIENT, "", "", "")
    assert kept.push_state == "synced"
    answer = availability_check(artist=artist, start=appointment.start, end=appointment.end)
    assert not answer.verdict.available  # the artist stays booked


def test_the_purge_audit_names_the_person_by_a_keyed_pseudonym_not_a_plain_hash(staff_client, settings):
    plain = hashlib.sha256(EMAIL.encode()).hexdigest()

    staff_client.post("/api/gdpr/purge", {"email": EMAIL}, content_type="application/json")

    event = AuditEvent.objects.get(action="gdpr.purge")
    assert event.object_id == person_ref(EMAIL) == person_ref(f" {EMAIL.upper()} ")
    assert plain[:16] not in event.object_id and EMAIL not in str(event.__dict__)
    settings.SECRET_KEY = "another-server-secret-" + "x" * 40
    assert person_ref(EMAIL) != event.object_id  # without the server's secret, no match
