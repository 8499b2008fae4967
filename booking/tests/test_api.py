"""The public booking API and the staff endpoints, against the database (no calendar server)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Account
from booking import feeds, gdpr
from booking.models import Appointment, ArtistCalendar, BusyBlock, CalendarSyncLog
from booking.tests.conftest import make_artist, next_week

pytestmark = pytest.mark.django_db


@pytest.fixture
def client() -> APIClient:
    return APIClient()


@pytest.fixture
def staff() -> APIClient:
    api = APIClient()
    api.force_authenticate(User.objects.create_user("staff", is_staff=True))
    return api


def book(client: APIClient, artist, start, minutes: int = 60, **extra):
    payload = {
        "artist": artist.slug,
        "client_name": "Ada",
        "client_email": "ada@example.org",
        "start": start.isoformat(),
        "duration": minutes,
        **extra,
    }
    return client.post("/api/appointments", payload, format="json")


def test_availability_answers_free_then_busy_with_the_conflict_after_a_booking(client):
    artist = make_artist()
    start = next_week(10)
    query = {"artist": artist.slug, "start": start.isoformat(), "end": (start + timedelta(hours=1)).isoformat()}
    assert client.get("/api/availability", query).json() == {
        "available": True,
        "reason": "available",
        "conflicts": [],
        "degraded": False,
        "data_age_seconds": 0.0,
    }
    assert book(client, artist, start).status_code == 201
    answer = client.get("/api/availability", {**query, "artist": artist.pk}).json()
    assert (answer["available"], answer["reason"], [c["kind"] for c in answer["conflicts"]]) == (
        False,
        "busy",
        ["appointment"],
    )


def test_a_busy_block_blocks_and_its_summary_is_not_shown_to_the_public(client):
    artist = make_artist()
    start = next_week(12)
    owner = User.objects.create_user("studio")
    account = Account.objects.create(owner=owner, name="dav", kind="caldav", url="http://127.0.0.1:9/")
    calendar = ArtistCalendar.objects.create(
        artist=artist, account=account, calendar_url="http://127.0.0.1:9/cal/", last_pulled_at=timezone.now()
    )
    BusyBlock.objects.create(
        calendar=calendar,
        artist=artist,
        href="/cal/x.ics",
        summary="Dentist",
        start=start,
        end=start + timedelta(hours=2),
    )
    query = {"artist": artist.slug, "start": start.isoformat(), "end": (start + timedelta(hours=1)).isoformat()}
    answer = client.get("/api/availability", query).json()
    assert answer["reason"] == "busy" and answer["degraded"] is False and "Dentist" not in str(answer)


def test_a_naive_time_is_the_artists_wall_clock():
    artist = make_artist(time_zone="America/New_York")
    start = next_week(15)
    local = start.astimezone(ZoneInfo("America/New_York")).replace(tzinfo=None)
    response = book(APIClient(), artist, local)
    assert response.status_code == 201
    assert Appointment.objects.get(pk=response.json()["id"]).start == start


def test_a_booking_request_is_pending_and_a_second_one_for_the_same_slot_gets_409(client):
    artist = make_artist()
    start = next_week(9)
    first = book(client, artist, start)
    assert first.status_code == 201
    assert first.json()["status"] == "pending" and first.json()["degraded"] is False
    second = book(client, artist, start + timedelta(minutes=30))
    assert second.status_code == 409
    assert second.json()["reason"] == "busy"
    assert Appointment.objects.filter(artist=artist).count() == 1


def test_outside_working_hours_and_inside_the_notice_are_refused_with_400(client):
    artist = make_artist(working_hours={str(d): [["10:00", "18:00"]] for d in range(7)}, min_notice_minutes=600)
    late = next_week(0).astimezone(ZoneInfo("Europe/Berlin")).replace(hour=19)
    assert book(client, artist, late).json()["reason"] == "outside_working_hours"
    soon = timezone.now() + timedelta(hours=1)
    response = book(client, artist, soon)
    assert (response.status_code, response.json()["reason"]) == (400, "min_notice")


def test_invalid_requests_are_400_and_unknown_artists_too(client):
    artist = make_artist()
    assert book(client, artist, next_week(9), client_email="not-an-email").status_code == 400
    assert (
        client.post(
            "/api/appointments",
            {
                "artist": "nobody",
                "client_name": "A",
                "client_email": "a@b.c",
                "start": next_week(9).isoformat(),
                "duration": 60,
            },
            format="json",
        ).status_code
        == 400
    )
    assert client.get("/api/artists/nobody/slots", {"date": "2030-01-01", "duration": 60}).status_code == 404


def test_booking_requests_are_rate_limited_per_client_ip(settings):
    settings.CALSYNC_BOOKING_RATE = "2/hour"
    artist = make_artist()
    ip = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    api = APIClient(REMOTE_ADDR=ip)
    codes = [book(api, artist, next_week(h)).status_code for h in (8, 10, 12)]
    assert codes == [201, 201, 429]
    assert book(APIClient(REMOTE_ADDR=ip, HTTP_X_FORWARDED_FOR="1.2.3.4"), artist, next_week(14)).status_code == 429


def test_slots_list_the_free_start_times_of_a_day(client):
    artist = make_artist(working_hours={str(d): [["10:00", "14:00"]] for d in range(7)}, slot_step_minutes=60)
    day = next_week(12).astimezone(ZoneInfo("Europe/Berlin")).date()
    first = client.get(f"/api/artists/{artist.slug}/slots", {"date": day.isoformat(), "duration": 60}).json()
    assert [slot["local"] for slot in first["slots"]] == ["10:00", "11:00", "12:00", "13:00"]
    second_slot = datetime.fromisoformat(first["slots"][1]["start"])
    assert book(client, artist, second_slot).status_code == 201
    after = client.get(f"/api/artists/{artist.pk}/slots", {"date": day.isoformat(), "duration": 60}).json()
    assert [slot["local"] for slot in after["slots"]] == ["10:00", "12:00", "13:00"]


def test_staff_list_confirm_and_cancel_appointments_and_the_public_cannot(client, staff):
    artist = make_artist()
    appointment_id = book(client, artist, next_week(9)).json()["id"]
    assert client.get("/api/appointments").status_code in (401, 403)
    assert client.post(f"/api/appointments/{appointment_id}/confirm").status_code in (401, 403)
    assert staff.get("/api/appointments").json()["count"] == 1
    assert staff.post(f"/api/appointments/{appointment_id}/confirm").json()["status"] == "confirmed"
    assert staff.post(f"/api/appointments/{appointment_id}/cancel").json()["status"] == "cancelled"
    assert staff.post(f"/api/appointments/{appointment_id}/confirm").status_code == 400
    # A cancelled appointment frees its slot.
    assert book(client, artist, next_week(9)).status_code == 201


def test_staff_move_an_appointment_but_not_onto_another(client, staff):
    artist = make_artist()
    first = book(client, artist, next_week(9)).json()["id"]
    book(client, artist, next_week(11))
    moved = staff.patch(
        f"/api/appointments/{first}",
        {"start": next_week(13).isoformat(), "end": next_week(14).isoformat()},
        format="json",
    )
    assert moved.status_code == 200 and moved.json()["start"].startswith(next_week(13).strftime("%Y-%m-%dT%H"))
    clash = staff.patch(
        f"/api/appointments/{first}",
        {"start": next_week(11).isoformat(), "end": next_week(12).isoformat()},
        format="json",
    )
    assert clash.status_code == 400


def test_the_feed_objects_hold_the_artists_live_appointments_only(client):
    artist = make_artist()
    kept = book(client, artist, next_week(9)).json()["id"]
    gone = book(client, artist, next_week(11)).json()["id"]
    Appointment.objects.filter(pk=gone).update(status="cancelled")
    objects = feeds.appointment_objects(type("Feed", (), {"source_ref": str(artist.pk)})())
    assert len(objects) == 1
    assert Appointment.objects.get(pk=kept).caldav_uid.encode() in objects[0]
    assert b"REQUEST: Ada" in objects[0]


def test_gdpr_export_and_purge_cover_one_clients_appointments_only(client):
    artist = make_artist()
    book(client, artist, next_week(9), client_email="Ada@Example.org")
    book(client, artist, next_week(11), client_email="bob@example.org")
    exported = gdpr.export("ada@example.org")
    assert [row["client_email"] for row in exported["appointments"]] == ["Ada@Example.org"]
    assert gdpr.purge("ada@example.org") == 1
    assert list(Appointment.objects.values_list("client_email", flat=True)) == ["bob@example.org"]
    assert not CalendarSyncLog.objects.filter(appointment__client_email__iexact="ada@example.org").exists()


def test_the_booking_page_renders_the_active_artists(client):
    make_artist(slug="maja")
    make_artist(slug="retired", active=False)
    html = client.get("/book/").content.decode()
    assert "Maja" in html and "Retired" not in html


def test_availability_validates_its_query_like_the_rest_of_the_api(client):
    artist = make_artist()
    start = next_week(10).isoformat()
    assert client.get("/api/availability").json() == {
        "artist": ["This field is required."],
        "start": ["This field is required."],
        "end": ["This field is required."],
    }
    assert client.get("/api/availability", {"artist": " ", "start": start, "end": start}).json() == {
        "artist": ["This field may not be blank."],
    }
    unknown = client.get("/api/availability", {"artist": "nobody", "start": start, "end": start})
    assert (unknown.status_code, unknown.json()) == (400, {"artist": "No active artist 'nobody'."})
    for bad in ("tomorrow", "2030-13-01T10:00"):
        response = client.get("/api/availability", {"artist": artist.slug, "start": bad, "end": start})
        assert (response.status_code, response.json()) == (400, [f"{bad!r} is not an ISO 8601 date-time"])
    assert client.post("/api/availability", {}).status_code == 405


def test_availability_conflicts_are_utc_instants_and_the_endpoint_is_in_the_openapi_schema(client, staff):
    artist = make_artist(buffer_minutes=15)
    start = next_week(10)
    book(client, artist, start)
    query = {
        "artist": artist.pk,
        "start": (start + timedelta(hours=1)).isoformat(),
        "end": (start + timedelta(hours=2)).isoformat(),
    }
    answer = client.get("/api/availability", query).json()
    utc = "%Y-%m-%dT%H:%M:%SZ"
    assert answer["conflicts"] == [
        {"start": start.strftime(utc), "end": (start + timedelta(hours=1)).strftime(utc), "kind": "appointment"},
    ]
    schema = staff.get("/api/openapi.json").content.decode()
    assert '"/api/availability"' in schema and "data_age_seconds" in schema
