"""Staff endpoints against a real CalDAV server: a sync over a date range, calendar CRUD and its test."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from accounts.models import Account
from booking.models import ArtistCalendar, BusyBlock
from booking.tests.conftest import attach_calendar, dav, make_artist, new_calendar, next_week, vevent

pytestmark = pytest.mark.django_db


def api_for(user: User) -> APIClient:
    api = APIClient()
    api.force_authenticate(user)
    return api


@pytest.fixture
def staff() -> APIClient:
    return api_for(User.objects.create_user("staff", is_staff=True))


def test_a_sync_over_a_date_range_pulls_busy_time_beyond_the_rolling_window(radicale, staff, eager_tasks, settings):
    settings.CALSYNC_BUSY_WINDOW_DAYS = 30
    collection = new_calendar(radicale)
    near, far = next_week(10), next_week(10, day=90)
    with dav(radicale) as connector:
        connector.put(collection, vevent("near", near, near + timedelta(hours=1)), uid="near")
        connector.put(collection, vevent("far", far, far + timedelta(hours=1)), uid="far")
    artist = make_artist()
    calendar = attach_calendar(artist, radicale, collection)
    assert staff.post("/api/booking/sync", {"artist": artist.slug}, format="json").status_code == 202
    assert list(BusyBlock.objects.filter(calendar=calendar).values_list("uid", flat=True)) == ["near"]
    window = {"start": (far - timedelta(days=1)).isoformat(), "end": (far + timedelta(days=1)).isoformat()}
    response = staff.post("/api/booking/sync", {"artist": artist.pk, **window}, format="json")
    assert response.status_code == 202 and response.json()["queued"] is True
    assert sorted(BusyBlock.objects.filter(calendar=calendar).values_list("uid", "start")) == [
        ("far", far),
        ("near", near),
    ]
    assert ArtistCalendar.objects.get(pk=calendar.pk).last_pull_ok is True


def test_a_sync_for_all_artists_over_a_range_pulls_every_calendar(radicale, staff, eager_tasks):
    far = next_week(9, day=500)
    artists = [make_artist(), make_artist()]
    for artist in artists:
        collection = new_calendar(radicale)
        with dav(radicale) as connector:
            connector.put(collection, vevent(f"far-{artist.slug}", far, far + timedelta(hours=2)), uid=artist.slug)
        attach_calendar(artist, radicale, collection)
    window = {"start": far.date().isoformat(), "end": (far + timedelta(days=1)).date().isoformat()}
    assert staff.post("/api/booking/sync", window, format="json").status_code == 202
    for artist in artists:
        assert list(BusyBlock.objects.filter(artist=artist).values_list("start", flat=True)) == [far]


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({"start": "2030-01-02T00:00:00Z"}, "end", "Give both start and end, or neither."),
        ({"end": "2030-01-02T00:00:00Z"}, "start", "Give both start and end, or neither."),
        ({"start": "2030-01-02", "end": "2030-01-01"}, "end", "The end must be after the start."),
        ({"start": "2030-01-01", "end": "2033-01-01"}, "end", "A sync range spans at most 732 days."),
        ({"start": "next week", "end": "2030-01-01"}, "start", None),
        ({"artist": "nobody"}, "artist", "No such artist."),
    ],
)
def test_a_sync_request_is_validated(staff, payload, field, message):
    response = staff.post("/api/booking/sync", payload, format="json")
    assert response.status_code == 400
    assert field in response.json()
    if message:
        assert response.json()[field] == [message]


def test_only_staff_may_start_a_sync():
    assert APIClient().post("/api/booking/sync", {}, format="json").status_code in (401, 403)
    user = api_for(User.objects.create_user("someone"))
    assert user.post("/api/booking/sync", {}, format="json").status_code == 403


def test_staff_manage_every_artist_calendar_and_nobody_else_touches_one(staff):
    artist = make_artist()
    ada, bob = User.objects.create_user("ada"), User.objects.create_user("bob")
    ada_account = Account.objects.create(owner=ada, name="ada", kind="caldav", url="http://127.0.0.1:9/")
    bob_account = Account.objects.create(owner=bob, name="bob", kind="caldav", url="http://127.0.0.1:9/")
    created = staff.post(
        "/api/admin/calendars",
        {
            "artist": artist.pk,
            "account": bob_account.pk,
            "calendar_url": "http://127.0.0.1:9/bob/",
        },
        format="json",
    )
    assert created.status_code == 201 and created.json()["blocks_time"] is True
    bobs = created.json()["id"]
    as_ada = api_for(ada)
    # Not even with her own account: an artist's calendar decides when clients may book them.
    mine = as_ada.post(
        "/api/admin/calendars",
        {
            "artist": artist.pk,
            "account": ada_account.pk,
            "calendar_url": "http://127.0.0.1:9/ada/",
        },
        format="json",
    )
    assert mine.status_code == 403
    assert as_ada.get("/api/admin/calendars").status_code == 403
    assert as_ada.get(f"/api/admin/calendars/{bobs}").status_code == 403
    assert as_ada.patch(f"/api/admin/calendars/{bobs}", {"blocks_time": False}, format="json").status_code == 403
    assert as_ada.delete(f"/api/admin/calendars/{bobs}").status_code == 403
    assert as_ada.post(f"/api/admin/calendars/{bobs}/test").status_code == 403
    mine = staff.post(
        "/api/admin/calendars",
        {
            "artist": artist.pk,
            "account": ada_account.pk,
            "calendar_url": "http://127.0.0.1:9/ada/",
        },
        format="json",
    )
    assert mine.status_code == 201
    assert staff.get("/api/admin/calendars").json()["count"] == 2
    changed = staff.patch(f"/api/admin/calendars/{bobs}", {"blocks_time": False}, format="json")
    assert changed.status_code == 200 and changed.json()["blocks_time"] is False
    assert staff.delete(f"/api/admin/calendars/{bobs}").status_code == 204
    assert list(ArtistCalendar.objects.values_list("calendar_url", flat=True)) == ["http://127.0.0.1:9/ada/"]
    assert APIClient().get("/api/admin/calendars").status_code in (401, 403)


def test_the_connection_test_says_ok_with_the_right_password_and_diagnoses_a_wrong_one(radicale, staff):
    collection = new_calendar(radicale)
    with dav(radicale) as connector:
        connector.put(collection, vevent("one", next_week(10), next_week(11)), uid="one")
    calendar = attach_calendar(make_artist(), radicale, collection)
    good = staff.post(f"/api/admin/calendars/{calendar.pk}/test").json()
    assert good == {"ok": True, "message": "Connected: 1 items in the calendar."}
    wrong = "Wr0ng-Passw0rd-7731"
    calendar.account.password = wrong
    calendar.account.save()
    bad = staff.post(f"/api/admin/calendars/{calendar.pk}/test")
    assert bad.status_code == 200 and bad.json()["ok"] is False
    assert bad.json()["message"].startswith("AuthError")
    assert wrong not in bad.content.decode() and radicale.password not in bad.content.decode()
