"""Busy pulls and appointment pushes against real CalDAV servers (Radicale and Xandikos)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.connectors.base import TransientError
from booking.models import Appointment, ArtistCalendar, BusyBlock, CalendarSyncLog
from booking.pulls import busy_pull
from booking.pushes import appointment_push
from booking.services import (
    appointment_cancel,
    appointment_confirm,
    appointment_create,
    appointment_update,
    availability_check,
)
from booking.tasks import appointment_push_task
from booking.tests.conftest import attach_calendar, dav, make_artist, new_calendar, next_week, server_events, vevent
from calsync.testing.servers import free_port

pytestmark = pytest.mark.django_db


def free(artist, start, hours: int = 1) -> bool:
    return availability_check(artist=artist, start=start, end=start + timedelta(hours=hours)).verdict.available


def test_a_pull_blocks_recurring_busy_time_honouring_override_exdate_and_ignoring_free_or_cancelled(dav_server):
    collection = new_calendar(dav_server)
    monday = next_week(9)
    rrule_start = f"{monday:%Y%m%dT%H%M%SZ}"
    series = vevent(
        "series",
        monday,
        monday + timedelta(hours=2),
        "RRULE:FREQ=DAILY;COUNT=4",
        f"EXDATE:{monday + timedelta(days=2):%Y%m%dT%H%M%SZ}",
        "END:VEVENT",
        "BEGIN:VEVENT",
        "UID:series",
        "DTSTAMP:20260101T000000Z",
        f"RECURRENCE-ID:{monday + timedelta(days=1):%Y%m%dT%H%M%SZ}",
        f"DTSTART:{monday + timedelta(days=1, hours=5):%Y%m%dT%H%M%SZ}",
        f"DTEND:{monday + timedelta(days=1, hours=6):%Y%m%dT%H%M%SZ}",
    )
    assert rrule_start in series.decode()
    with dav(dav_server) as connector:
        connector.put(collection, series, uid="series")
        connector.put(
            collection,
            vevent("free", monday + timedelta(days=4), monday + timedelta(days=4, hours=3), "TRANSP:TRANSPARENT"),
            uid="free",
        )
        connector.put(
            collection,
            vevent("off", monday + timedelta(days=5), monday + timedelta(days=5, hours=3), "STATUS:CANCELLED"),
            uid="off",
        )
    artist = make_artist()
    calendar = attach_calendar(artist, dav_server, collection)
    assert busy_pull(calendar=calendar).ok
    assert not free(artist, monday)  # day 0: the series
    assert free(artist, monday + timedelta(days=1))  # day 1: its occurrence moved away...
    assert not free(artist, monday + timedelta(days=1, hours=5))  # ...to five hours later
    assert free(artist, monday + timedelta(days=2))  # day 2: EXDATE
    assert not free(artist, monday + timedelta(days=3))  # day 3
    assert free(artist, monday + timedelta(days=4))  # transparent
    assert free(artist, monday + timedelta(days=5))  # cancelled


def test_a_changed_or_deleted_event_replaces_its_blocks_on_the_next_incremental_pull(dav_server):
    collection = new_calendar(dav_server)
    start = next_week(10)
    with dav(dav_server) as connector:
        first = connector.put(collection, vevent("a", start, start + timedelta(hours=1)), uid="a")
        connector.put(collection, vevent("b", start + timedelta(hours=4), start + timedelta(hours=5)), uid="b")
    artist = make_artist()
    calendar = attach_calendar(artist, dav_server, collection)
    busy_pull(calendar=calendar)
    calendar.refresh_from_db()
    assert calendar.sync_token and BusyBlock.objects.filter(calendar=calendar).count() == 2
    with dav(dav_server) as connector:
        connector.put(
            collection,
            vevent("a", start + timedelta(hours=2), start + timedelta(hours=3)),
            href=first.href,
            etag=first.etag,
        )
        b_href = next(href for href, data in server_events(dav_server, collection).items() if b"UID:b" in data)
        connector.delete(b_href)
    result = busy_pull(calendar=calendar)
    assert result.ok and "delta" in result.message
    assert list(BusyBlock.objects.filter(calendar=calendar).values_list("uid", "start")) == [
        ("a", start + timedelta(hours=2))
    ]
    assert free(artist, start) and free(artist, start + timedelta(hours=4))


def test_an_appointment_travels_to_the_calendar_as_request_then_confirmed_then_moved_then_deleted(dav_server):
    collection = new_calendar(dav_server)
    artist = make_artist()
    attach_calendar(artist, dav_server, collection, last_pulled_at=timezone.now())
    start = next_week(11)
    appointment, _ = appointment_create(
        artist=artist, client_name="Ada", client_email="ada@example.org", start=start, end=start + timedelta(hours=1)
    )
    assert appointment_push(appointment_id=appointment.pk) == "created"
    appointment.refresh_from_db()
    [(href, data)] = server_events(dav_server, collection).items()
    assert href == appointment.caldav_href and b"SUMMARY:REQUEST: Ada" in data
    appointment_confirm(appointment=appointment)
    assert appointment_push(appointment_id=appointment.pk) == "updated"
    [data] = server_events(dav_server, collection).values()
    assert b"SUMMARY:Ada" in data and b"REQUEST" not in data
    appointment_update(appointment=appointment, start=start + timedelta(hours=2), end=start + timedelta(hours=3))
    assert appointment_push(appointment_id=appointment.pk) == "updated"
    [data] = server_events(dav_server, collection).values()
    assert f"DTSTART:{start + timedelta(hours=2):%Y%m%dT%H%M%SZ}".encode() in data
    appointment_cancel(appointment=Appointment.objects.get(pk=appointment.pk))
    assert appointment_push(appointment_id=appointment.pk) == "deleted"
    assert server_events(dav_server, collection) == {}
    assert Appointment.objects.get(pk=appointment.pk).push_state == "synced"


def test_an_update_over_the_artists_edit_gets_412_and_records_a_conflict_keeping_their_version(dav_server):
    collection = new_calendar(dav_server)
    artist = make_artist()
    attach_calendar(artist, dav_server, collection, last_pulled_at=timezone.now())
    start = next_week(11)
    appointment, _ = appointment_create(
        artist=artist, client_name="Ada", client_email="ada@example.org", start=start, end=start + timedelta(hours=1)
    )
    appointment_push(appointment_id=appointment.pk)
    appointment.refresh_from_db()
    with dav(dav_server) as connector:
        edited = vevent(appointment.caldav_uid, start, start + timedelta(hours=1), summary="Ada - bring sketch")
        connector.put(collection, edited, href=appointment.caldav_href, etag=appointment.caldav_etag)
    appointment_confirm(appointment=appointment)
    assert appointment_push(appointment_id=appointment.pk) == "conflict"
    appointment.refresh_from_db()
    assert appointment.push_state == "conflict" and "bring sketch" in appointment.push_error
    assert CalendarSyncLog.objects.filter(appointment=appointment, status="conflict").exists()
    [data] = server_events(dav_server, collection).values()
    assert b"SUMMARY:Ada - bring sketch" in data


def test_the_artist_moving_or_deleting_our_event_shows_on_the_appointment_after_the_next_pull(dav_server):
    collection = new_calendar(dav_server)
    artist = make_artist()
    calendar = attach_calendar(artist, dav_server, collection)
    busy_pull(calendar=calendar)
    start = next_week(11)
    moved, _ = appointment_create(
        artist=artist, client_name="Ada", client_email="a@example.org", start=start, end=start + timedelta(hours=1)
    )
    deleted, _ = appointment_create(
        artist=artist,
        client_name="Bob",
        client_email="b@example.org",
        start=start + timedelta(hours=3),
        end=start + timedelta(hours=4),
    )
    for appointment in (moved, deleted):
        appointment_push(appointment_id=appointment.pk)
        appointment.refresh_from_db()
    with dav(dav_server) as connector:
        later = vevent(moved.caldav_uid, start + timedelta(days=1), start + timedelta(days=1, hours=2))
        connector.put(collection, later, href=moved.caldav_href, etag=moved.caldav_etag)
        connector.delete(deleted.caldav_href)
    assert busy_pull(calendar=ArtistCalendar.objects.get(pk=calendar.pk)).ok
    moved.refresh_from_db()
    deleted.refresh_from_db()
    assert (moved.start, moved.end) == (start + timedelta(days=1), start + timedelta(days=1, hours=2))
    assert deleted.status == "cancelled"
    # Our own events never turn into busy blocks (the appointment already blocks the time).
    assert not BusyBlock.objects.filter(calendar=calendar).exists()


def test_with_the_server_down_the_answer_is_degraded_the_booking_pending_and_the_push_retried_later(radicale):
    closed = f"http://127.0.0.1:{free_port()}"
    artist = make_artist()
    collection = new_calendar(radicale)
    calendar = attach_calendar(artist, radicale, collection)
    calendar.account.url, calendar.calendar_url = closed + "/", closed + "/cal/"
    calendar.account.save()
    calendar.save()
    start = next_week(11)
    answer = availability_check(artist=artist, start=start, end=start + timedelta(hours=1))
    assert answer.degraded and answer.data_age_seconds is None and answer.verdict.available
    appointment, answer = appointment_create(
        artist=artist, client_name="Ada", client_email="a@example.org", start=start, end=start + timedelta(hours=1)
    )
    assert answer.degraded and appointment.status == "pending" and appointment.needs_review
    with pytest.raises(TransientError):
        appointment_push_task.run(appointment.pk)  # the task body; Celery retries it with backoff
    appointment.refresh_from_db()
    assert appointment.push_state == "queued" and appointment.push_error
    # The server is back.
    calendar.account.url, calendar.calendar_url = radicale.url, collection.url
    calendar.account.save()
    calendar.save()
    assert appointment_push_task.run(appointment.pk) == "created"
    [data] = server_events(radicale, collection).values()
    assert b"REQUEST: Ada" in data
    assert Appointment.objects.get(pk=appointment.pk).status == "pending"


@pytest.mark.broker
def test_a_real_worker_pushes_the_booking_after_the_commit(start_celery_worker, radicale):
    start_celery_worker()
    collection = new_calendar(radicale)
    artist = make_artist()
    attach_calendar(artist, radicale, collection, last_pulled_at=timezone.now())
    start = next_week(13)
    appointment, _ = appointment_create(
        artist=artist, client_name="Ada", client_email="a@example.org", start=start, end=start + timedelta(hours=1)
    )
    from calsync.testing.workers import eventually

    eventually(lambda: Appointment.objects.get(pk=appointment.pk).push_state == "synced", what="the push")
    [data] = server_events(radicale, collection).values()
    assert appointment.caldav_uid.encode() in data


def test_a_failed_pull_makes_the_answer_degraded_at_once_though_the_data_is_young(client):
    from calsync.testing.servers import start_radicale

    server = start_radicale()
    try:
        artist = make_artist()
        calendar = attach_calendar(artist, server, new_calendar(server))
        start = next_week(11)
        assert busy_pull(calendar=calendar).ok
        query = {"artist": artist.slug, "start": start.isoformat(), "end": (start + timedelta(hours=1)).isoformat()}
        assert client.get("/api/availability", query).json()["degraded"] is False
    finally:
        server.stop()  # the calendar server goes down: connection refused from now on

    pulled = busy_pull(calendar=ArtistCalendar.objects.get(pk=calendar.pk))  # the periodic pull, as beat runs it

    calendar.refresh_from_db()
    assert not pulled.ok
    assert calendar.last_pull_ok is False and calendar.last_error.startswith("pull failed:")
    assert (timezone.now() - calendar.last_pulled_at).total_seconds() < 900  # young data, yet:
    answer = client.get("/api/availability", query).json()
    assert answer["degraded"] is True and answer["available"] is True
    assert availability_check(artist=artist, start=start, end=start + timedelta(hours=1)).degraded
