"""An artist's appointments as a calendar: granted users read it, and moves/deletes go through booking."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import quote

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from accounts.models import Account
from booking.models import Appointment, BusyBlock
from booking.services import appointment_update
from booking.tests.conftest import make_artist, next_week
from feeds.dav.models import ArtistGrant
from feeds.dav.tests.conftest import DavClient
from feeds.dav.tests.test_protocol import D, event, props_of, xml
from feeds.dav.tests.test_reports import changes, sync


@pytest.fixture
def artist(db):
    return make_artist(slug="mia", name="Mia")


def book(artist, hour: int, **fields) -> Appointment:
    start = next_week(hour)
    return Appointment.objects.create(
        artist=artist,
        client_name="Jo",
        client_email="jo@example.org",
        start=start,
        end=start + timedelta(hours=1),
        status=fields.pop("status", Appointment.Status.CONFIRMED),
        **fields,
    )


def grant(client: DavClient, artist, *, write: bool) -> str:
    ArtistGrant.objects.create(user_id=_user_id(client), artist=artist, can_write=write)
    return f"{client.home}appointments-{artist.slug}/"


def _user_id(client: DavClient) -> int:
    return User.objects.get(username=client.username).pk


def moved(data: str, old, new) -> str:
    return data.replace(old.strftime("%Y%m%dT%H%M%SZ"), new.strftime("%Y%m%dT%H%M%SZ"))


def test_only_granted_users_see_the_appointments_calendar(alice: DavClient, bob: DavClient, artist):
    appointment = book(artist, 10)
    path = grant(alice, artist, write=False)
    listing = props_of(
        alice.propfind(alice.home, '<propfind xmlns="DAV:"><prop><displayname/></prop></propfind>', depth="1")
    )
    assert listing[path][f"{D}displayname"].text == "Mia - appointments"
    data = alice.get(f"{path}{appointment.caldav_uid}.ics")
    assert data.status_code == 200 and b"SUMMARY:Jo" in data.content
    assert bob.propfind(f"{bob.home}appointments-mia/").status_code == 404


def test_read_only_grant_refuses_writes(alice: DavClient, artist):
    appointment = book(artist, 10)
    path = f"{grant(alice, artist, write=False)}{appointment.caldav_uid}.ics"
    response = alice.delete(path)
    assert response.status_code == 403 and xml(response).find(f"{D}need-privileges") is not None
    assert Appointment.objects.get(pk=appointment.pk).status == Appointment.Status.CONFIRMED


def test_moving_the_event_moves_the_appointment(alice: DavClient, artist):
    appointment = book(artist, 10)
    path = f"{grant(alice, artist, write=True)}{appointment.caldav_uid}.ics"
    current = alice.get(path)
    new_start = appointment.start + timedelta(hours=3)
    body = moved(
        moved(current.content.decode(), appointment.end, new_start + timedelta(hours=1)), appointment.start, new_start
    )
    response = alice.put(path, body, **{"If-Match": current["ETag"]})
    assert response.status_code == 204
    appointment.refresh_from_db()
    assert appointment.start == new_start and appointment.status == Appointment.Status.CONFIRMED
    assert alice.get(path)["ETag"] != current["ETag"]


def test_a_move_onto_busy_time_is_refused_and_keeps_the_appointment(alice: DavClient, artist):
    appointment = book(artist, 10)
    other = book(artist, 14)
    path = f"{grant(alice, artist, write=True)}{appointment.caldav_uid}.ics"
    body = moved(moved(alice.get(path).content.decode(), appointment.end, other.end), appointment.start, other.start)
    response = alice.put(path, body)
    assert response.status_code == 409
    appointment.refresh_from_db()
    assert appointment.start == next_week(10)


def test_a_move_onto_the_artists_own_busy_event_is_refused(alice: DavClient, artist):
    appointment = book(artist, 10)
    # Pulled just now, so the check answers from the busy blocks without asking the server.
    calendar = artist.calendars.create(
        account=_account(),
        calendar_url="http://example.invalid/cal/",
        last_pulled_at=timezone.now(),
        last_pull_ok=True,
    )
    BusyBlock.objects.create(
        calendar=calendar, artist=artist, href="/cal/x.ics", start=next_week(15), end=next_week(16), summary="Private"
    )
    path = f"{grant(alice, artist, write=True)}{appointment.caldav_uid}.ics"
    body = moved(
        moved(alice.get(path).content.decode(), appointment.end, next_week(16)), appointment.start, next_week(15)
    )
    assert alice.put(path, body).status_code == 409


def _account() -> Account:
    owner, _ = User.objects.get_or_create(username="studio")
    return Account.objects.create(
        owner=owner, name="studio", kind="caldav", url="http://example.invalid/", username="u", password="p"
    )


def test_deleting_the_event_cancels_the_appointment(alice: DavClient, artist):
    appointment = book(artist, 10)
    path = f"{grant(alice, artist, write=True)}{appointment.caldav_uid}.ics"
    assert alice.delete(path).status_code == 204
    assert Appointment.objects.get(pk=appointment.pk).status == Appointment.Status.CANCELLED
    assert alice.get(path).status_code == 404


def test_changes_in_calsync_reach_clients_at_their_next_sync(alice: DavClient, artist):
    kept, cancelled = book(artist, 10), book(artist, 12)
    folder = grant(alice, artist, write=False).removeprefix(alice.home)
    first, _, token = changes(sync(alice, path=folder))
    assert len(first) == 2
    appointment_update(appointment=kept, start=next_week(16), end=next_week(17))
    Appointment.objects.filter(pk=cancelled.pk).update(
        status=Appointment.Status.CANCELLED, updated_at=cancelled.updated_at + timedelta(seconds=1)
    )
    erased = book(artist, 18)
    _, _, token2 = changes(sync(alice, token, path=folder))
    erased.delete()
    changed, deleted, _ = changes(sync(alice, token2, path=folder))
    assert href(alice, folder, erased) in deleted
    changed, deleted, _ = changes(sync(alice, token, path=folder))
    assert href(alice, folder, kept) in changed
    assert href(alice, folder, cancelled) in deleted


def href(client: DavClient, folder: str, appointment: Appointment) -> str:
    return f"{client.home}{folder}{quote(appointment.caldav_uid, safe='')}.ics"


def test_creating_an_event_in_an_appointments_calendar_is_refused(alice: DavClient, artist):
    path = grant(alice, artist, write=True)
    response = alice.put(path + "new.ics", event("new"))
    assert response.status_code == 403
    assert not Appointment.objects.exists()
    assert xml(response).find(f"{D}need-privileges") is not None


PRIVILEGES = '<propfind xmlns="DAV:"><prop><current-user-privilege-set/></prop></propfind>'


def privileges(client: DavClient, path: str) -> set[str]:
    found: Any = props_of(client.propfind(path, PRIVILEGES))[path][f"{D}current-user-privilege-set"]
    return {child.tag.removeprefix(D) for privilege in found for child in privilege}


def test_an_appointments_calendar_does_not_advertise_adding_to_it(alice: DavClient, artist):
    path = grant(alice, artist, write=True)

    granted = privileges(alice, path)

    assert {"read", "write-content", "unbind"} <= granted
    assert not {"bind", "write"} & granted  # DAV:write aggregates bind
    assert {"bind", "write"} <= privileges(alice, f"{alice.home}calendar/")


def test_a_read_only_appointments_calendar_advertises_reading_only(alice: DavClient, artist):
    path = grant(alice, artist, write=False)

    assert privileges(alice, path) == {"read", "read-current-user-privilege-set"}
