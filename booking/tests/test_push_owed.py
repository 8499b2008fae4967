"""Appointment pushes lose nothing: while the artist's calendar is down (a stopped server, so
connection refused) a push stays owed on the appointment and lands once the server is back."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.connectors.base import TransientError
from booking.models import Appointment, CalendarSyncLog
from booking.pushes import FRESH_SECONDS, appointment_push, appointment_pushes_claim_due
from booking.services import appointment_cancel, appointment_confirm, appointment_create, appointment_update
from booking.tasks import appointment_push_owed_task, appointment_push_task
from booking.tests.conftest import attach_calendar, make_artist, new_calendar, next_week, server_events
from calsync.testing.servers import DavServer, start_radicale

pytestmark = pytest.mark.django_db


@pytest.fixture
def own_radicale() -> Iterator[DavServer]:
    """A Radicale of this test's own: it is stopped and started again, which the shared one must not be."""
    server = start_radicale()
    yield server
    server.stop()


def book(artist, hour: int = 11) -> Appointment:
    start = next_week(hour)
    appointment, _ = appointment_create(
        artist=artist, client_name="Ada", client_email="ada@example.org", start=start, end=start + timedelta(hours=1)
    )
    return appointment


def as_if_due(appointment: Appointment) -> None:
    """Time passes: the owed push's retry time is long past, and its own retry never came."""
    Appointment.objects.filter(pk=appointment.pk).update(push_next_at=timezone.now() - timedelta(hours=1))


def test_it_keeps_a_push_owed_while_the_calendar_is_down_and_the_sweep_lands_it_once_it_is_back(
    own_radicale, eager_tasks
):
    collection = new_calendar(own_radicale)
    artist = make_artist()
    attach_calendar(artist, own_radicale, collection, last_pulled_at=timezone.now())
    own_radicale.halt()
    appointment = book(artist)

    for _attempt in range(2):
        with pytest.raises(TransientError):
            appointment_push_task.run(appointment.pk)  # the task body; its retries are Celery's

    appointment.refresh_from_db()
    assert appointment.push_state == "queued"
    assert appointment.push_attempts == 2
    assert "connection refused" in appointment.push_error
    assert appointment.push_next_at > timezone.now()
    assert appointment_pushes_claim_due() == []  # not due yet: the backoff is honoured

    own_radicale.restart()
    as_if_due(appointment)
    assert appointment_push_owed_task.run() == 1

    appointment.refresh_from_db()
    assert (appointment.push_state, appointment.push_attempts, appointment.push_error) == ("synced", 0, "")
    assert appointment.push_next_at is None
    [(href, data)] = server_events(own_radicale, collection).items()
    assert href == appointment.caldav_href and b"SUMMARY:REQUEST: Ada" in data


def test_a_confirmation_a_move_and_a_cancellation_made_while_the_calendar_is_down_all_land(own_radicale, eager_tasks):
    collection = new_calendar(own_radicale)
    artist = make_artist()
    attach_calendar(artist, own_radicale, collection, last_pulled_at=timezone.now())
    kept, cancelled = book(artist, 11), book(artist, 14)
    for appointment in (kept, cancelled):
        assert appointment_push(appointment_id=appointment.pk) == "created"
    own_radicale.halt()

    kept = appointment_confirm(appointment=Appointment.objects.get(pk=kept.pk))
    kept = appointment_update(
        appointment=kept, start=kept.start + timedelta(hours=1), end=kept.end + timedelta(hours=1)
    )
    appointment_cancel(appointment=Appointment.objects.get(pk=cancelled.pk))
    for appointment in (kept, cancelled):
        with pytest.raises(TransientError):
            appointment_push_task.run(appointment.pk)
    assert set(Appointment.objects.values_list("push_state", "push_attempts")) == {("queued", 1)}

    own_radicale.restart()
    for appointment in (kept, cancelled):
        as_if_due(appointment)
    assert appointment_push_owed_task.run() == 2

    assert set(Appointment.objects.values_list("push_state", flat=True)) == {"synced"}
    [data] = server_events(own_radicale, collection).values()
    assert b"SUMMARY:Ada" in data and b"REQUEST" not in data
    assert f"DTSTART:{kept.start:%Y%m%dT%H%M%SZ}".encode() in data


def test_a_booking_cancelled_before_it_ever_reached_the_calendar_owes_nothing(own_radicale, eager_tasks):
    collection = new_calendar(own_radicale)
    artist = make_artist()
    attach_calendar(artist, own_radicale, collection, last_pulled_at=timezone.now())
    own_radicale.halt()
    appointment = book(artist)
    with pytest.raises(TransientError):
        appointment_push_task.run(appointment.pk)
    appointment_cancel(appointment=Appointment.objects.get(pk=appointment.pk))
    own_radicale.restart()

    as_if_due(appointment)
    appointment_push_owed_task.run()

    assert Appointment.objects.get(pk=appointment.pk).push_state == "synced"
    assert appointment_pushes_claim_due(now=timezone.now() + timedelta(days=1)) == []
    assert server_events(own_radicale, collection) == {}


def test_a_push_whose_message_was_lost_is_swept_once_it_is_no_longer_fresh(radicale, eager_tasks):
    collection = new_calendar(radicale)
    artist = make_artist()
    attach_calendar(artist, radicale, collection, last_pulled_at=timezone.now())
    appointment = book(artist)  # its task was never run: the message is lost

    assert appointment_pushes_claim_due() == []  # fresh: its own task may still be on the way
    later = timezone.now() + timedelta(seconds=FRESH_SECONDS + 1)
    assert appointment_pushes_claim_due(now=later) == [appointment.pk]
    assert appointment_pushes_claim_due(now=later) == []  # claimed once, not queued twice

    as_if_due(appointment)
    appointment_push_owed_task.run()
    assert Appointment.objects.get(pk=appointment.pk).push_state == "synced"
    assert len(server_events(radicale, collection)) == 1


def test_a_push_the_calendar_keeps_refusing_needs_attention_with_the_servers_answer(dav_server, settings):
    settings.CALSYNC_PUSH_MAX_REFUSALS = 3
    artist = make_artist()
    gone = new_calendar(dav_server)
    calendar = attach_calendar(artist, dav_server, gone, last_pulled_at=timezone.now())
    calendar.calendar_url = f"{dav_server.url.rstrip('/')}{dav_server.home}no-such-calendar-{uuid.uuid4().hex[:6]}/"
    calendar.save()
    appointment = book(artist)

    outcomes = [appointment_push(appointment_id=appointment.pk) for _attempt in range(3)]

    assert outcomes == ["refused", "refused", "failed"]
    appointment.refresh_from_db()
    assert (appointment.push_state, appointment.push_attempts) == ("failed", 3)
    assert "409" in appointment.push_error
    assert appointment_pushes_claim_due(now=timezone.now() + timedelta(days=1)) == []  # no longer retried
    assert CalendarSyncLog.objects.filter(appointment=appointment, action="failed").exists()


def test_staff_see_pushes_that_need_attention_in_the_api_and_the_admin_and_can_push_again(radicale):
    artist = make_artist()
    collection = new_calendar(radicale)
    attach_calendar(artist, radicale, collection, last_pulled_at=timezone.now())
    appointment = book(artist)
    Appointment.objects.filter(pk=appointment.pk).update(
        push_state="failed", push_attempts=3, push_error="The server refused /x.ics (403): no write access"
    )
    staff = User.objects.create_superuser("boss", "boss@example.org", "pw")
    api = APIClient()
    api.force_authenticate(staff)

    body = api.get(f"/api/appointments/{appointment.pk}").json()
    assert (body["push_state"], body["push_needs_attention"], body["push_attempts"]) == ("failed", True, 3)
    assert "no write access" in body["push_error"]
    admin = Client()
    admin.force_login(staff)
    page = admin.get("/admin/booking/appointment/?push=attention").content.decode()
    assert "needs attention" in page and "Ada" in page
    assert "Ada" not in admin.get("/admin/booking/appointment/?push=owed").content.decode()

    response = api.post(f"/api/appointments/{appointment.pk}/push")

    assert response.status_code == 202
    assert (response.json()["push_state"], response.json()["push_attempts"]) == ("queued", 0)


@pytest.mark.broker
def test_a_real_worker_retries_a_push_through_an_outage_until_it_lands(start_celery_worker, own_radicale):
    from calsync.testing.workers import eventually

    start_celery_worker(env={"CALSYNC_PUSH_RETRY_BASE_SECONDS": "0.5", "CALSYNC_PUSH_RETRY_MAX_SECONDS": "1"})
    collection = new_calendar(own_radicale)
    artist = make_artist()
    attach_calendar(artist, own_radicale, collection, last_pulled_at=timezone.now())
    own_radicale.halt()
    appointment = book(artist)  # committed: the worker gets the push at once, and fails

    eventually(lambda: Appointment.objects.get(pk=appointment.pk).push_attempts >= 2, what="two failed attempts")
    owed = Appointment.objects.get(pk=appointment.pk)
    assert owed.push_state == "queued" and "connection refused" in owed.push_error
    own_radicale.restart()

    eventually(lambda: Appointment.objects.get(pk=appointment.pk).push_state == "synced", what="the push landing")
    [data] = server_events(own_radicale, collection).values()
    assert appointment.caldav_uid.encode() in data
