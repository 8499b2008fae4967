"""The artist-appointments feed: registered as a source, private, and re-rendered on changes."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.contrib.auth.models import User
from icalendar import Calendar
from rest_framework.test import APIClient

from booking.models import Appointment, Artist
from booking.services import appointment_cancel, appointment_confirm
from feeds.models import IcsFeed
from feeds.sources import source_for

pytestmark = pytest.mark.django_db

MONDAY = dt.datetime(2031, 3, 3, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def staff() -> APIClient:
    client = APIClient()
    client.force_authenticate(User.objects.create_user(f"staff-{uuid.uuid4().hex[:6]}", is_staff=True))
    return client


@pytest.fixture
def artist() -> Artist:
    return Artist.objects.create(name="Anna", slug=f"anna-{uuid.uuid4().hex[:6]}")


def appointment(artist: Artist, name: str, hour: int, status: str = "pending") -> Appointment:
    start = MONDAY + dt.timedelta(hours=hour)
    return Appointment.objects.create(
        artist=artist, client_name=name, client_email=f"{name.lower()}@example.org",
        start=start, end=start + dt.timedelta(hours=1), status=status,
    )  # fmt: skip


def summaries(content: bytes) -> set[str]:
    return {str(event["SUMMARY"]) for event in Calendar.from_ical(content).walk("VEVENT")}


def publish(staff: APIClient, artist: Artist, capture) -> dict:
    with capture(execute=True):
        response = staff.post(
            "/api/feeds",
            {"path": f"anna-{artist.pk}", "source_type": "appointments", "source_ref": str(artist.pk)},
            format="json",
        )
    assert response.status_code == 201, response.content
    return response.json()


def test_the_feed_publishes_live_appointments_with_pending_ones_marked_as_requests(
    client, staff, artist, eager_tasks, django_capture_on_commit_callbacks
):
    appointment(artist, "Ada", 0, "confirmed")
    appointment(artist, "Bob", 2)
    appointment(artist, "Cy", 4, "cancelled")
    body = publish(staff, artist, django_capture_on_commit_callbacks)
    # Clients' details are never public: a token was made although none was given.
    assert body["has_token"] is True and "?token=" in body["url"]
    status = staff.get(f"/api/feeds/{body['id']}/status").json()
    assert status["last_error"] == "" and status["event_count"] == 2 and status["url"] == body["url"]
    path = body["url"].split("testserver")[1]
    assert client.get(path.split("?")[0]).status_code == 404
    response = client.get(path)
    assert response.status_code == 200 and response["Content-Type"] == "text/calendar; charset=utf-8"
    assert summaries(response.content) == {"Ada", "REQUEST: Bob"}


def test_creating_confirming_and_cancelling_appointments_rerender_the_feed(
    client, staff, artist, eager_tasks, django_capture_on_commit_callbacks
):
    bob = appointment(artist, "Bob", 2)
    url = publish(staff, artist, django_capture_on_commit_callbacks)["url"].split("testserver")[1]
    etag = client.get(url)["ETag"]
    with django_capture_on_commit_callbacks(execute=True):
        appointment_confirm(appointment=bob)
    response = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 200 and summaries(response.content) == {"Bob"}
    with django_capture_on_commit_callbacks(execute=True):
        eve = appointment(artist, "Eve", 5)
    assert summaries(client.get(url).content) == {"Bob", "REQUEST: Eve"}
    with django_capture_on_commit_callbacks(execute=True):
        appointment_cancel(appointment=eve)
    assert summaries(client.get(url).content) == {"Bob"}
    # A save that changes nothing a subscriber sees (a push storing its etag) renders nothing.
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        bob.caldav_etag = '"e1"'
        bob.save(update_fields=["caldav_etag"])
    assert callbacks == []


def test_only_staff_publish_appointments_and_only_of_an_existing_artist(artist):
    alice = APIClient()
    alice.force_authenticate(User.objects.create_user(f"alice-{uuid.uuid4().hex[:6]}"))
    refused = alice.post(
        "/api/feeds", {"path": "mine", "source_type": "appointments", "source_ref": str(artist.pk)}, format="json"
    )
    assert refused.status_code == 400 and "staff" in str(refused.json())
    staff = APIClient()
    staff.force_authenticate(User.objects.create_user(f"staff-{uuid.uuid4().hex[:6]}", is_staff=True))
    unknown = staff.post(
        "/api/feeds", {"path": "nobody", "source_type": "appointments", "source_ref": "999999"}, format="json"
    )
    assert unknown.status_code == 400 and "No artist" in str(unknown.json())


def test_an_artist_deleted_later_shows_as_the_feeds_error(artist, staff):
    feed = IcsFeed(source_type="appointments", source_ref="424242")
    with pytest.raises(LookupError, match="no artist with id 424242"):
        source_for("appointments")(feed)


def test_a_feed_saved_in_the_admin_follows_the_same_rules_and_is_rendered(
    admin_client, admin_user, artist, eager_tasks, django_capture_on_commit_callbacks
):
    appointment(artist, "Ada", 0, "confirmed")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/feeds/icsfeed/add/",
            {
                "owner": admin_user.pk, "name": "Anna", "path": f"studio/anna-{artist.pk}",
                "source_type": "appointments", "source_ref": str(artist.pk), "calendars": "[]",
                "sync_all": "on", "token": "", "interval_minutes": 15,
            },
        )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:2000]
    feed = IcsFeed.objects.get(path=f"studio/anna-{artist.pk}")
    assert feed.token and feed.etag and feed.event_count == 1


def test_the_admin_refuses_an_unknown_artist_with_the_apis_message_and_saves_nothing(admin_client, admin_user):
    response = admin_client.post(
        "/admin/feeds/icsfeed/add/",
        {
            "owner": admin_user.pk, "name": "Nobody", "path": "studio/nobody", "source_type": "appointments",
            "source_ref": "999999", "calendars": "[]", "token": "", "interval_minutes": 15,
        },
    )  # fmt: skip

    assert response.status_code == 200
    assert "No artist with id 999999." in response.content.decode()
    assert not IcsFeed.objects.filter(path="studio/nobody").exists()
