"""Booking test helpers: an artist open around the clock, calendars on real DAV servers."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User

from accounts.connectors import connector_for
from accounts.connectors.base import AccountConfig, RemoteCollection
from accounts.models import Account
from booking.models import Artist, ArtistCalendar

ALWAYS_OPEN = {str(day): [["00:00", "24:00"]] for day in range(7)}


@pytest.fixture(autouse=True)
def generous_booking_rate(settings) -> None:
    """Only the throttling test counts requests; the rest must not trip over each other's counts."""
    settings.CALSYNC_BOOKING_RATE = "100000/hour"
    settings.CALSYNC_BOOKING_EMAIL_RATE = "100000/hour"


@pytest.fixture(autouse=True)
def local_servers_allowed(settings) -> None:
    """These tests' users are not staff, and the real DAV servers they sync listen on loopback: the
    operator allows that address by name, as a deployment allows its LAN server. What happens
    without the exception is accounts/tests/test_ssrf.py's and the live attack tests' business."""
    settings.CALSYNC_ALLOWED_PRIVATE_NETWORKS = ["127.0.0.1"]


def make_artist(**fields) -> Artist:
    slug = fields.pop("slug", f"artist-{uuid.uuid4().hex[:8]}")
    defaults = {
        "name": slug.title(),
        "time_zone": "Europe/Berlin",
        "working_hours": ALWAYS_OPEN,
        "min_notice_minutes": 0,
    }
    return Artist.objects.create(slug=slug, **{**defaults, **fields})


def next_week(hour: int, *, day: int = 0) -> datetime:
    """A whole hour (UTC) about a week from now, so it is inside every pull window and notice."""
    base = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=7 + day)
    return base.replace(hour=hour)


def dav(server):
    config = AccountConfig(kind="caldav", url=server.url, username=server.username, password=server.password)
    return connector_for(config)


def new_calendar(server) -> RemoteCollection:
    with dav(server) as connector:
        return connector.create_collection(
            name=f"Artist {uuid.uuid4().hex[:6]}", kind="calendar", components=("VEVENT",)
        )


def server_events(server, collection: RemoteCollection) -> dict[str, bytes]:
    """href → data of every object in the collection, read straight from the server."""
    with dav(server) as connector:
        listing = connector.list_items(collection)
        return {item.href: item.data for item in connector.fetch(collection, list(listing.items))}


def attach_calendar(artist: Artist, server, collection: RemoteCollection, **fields) -> ArtistCalendar:
    owner, _ = User.objects.get_or_create(username="studio")
    account = Account.objects.create(
        owner=owner,
        name=f"dav {uuid.uuid4().hex[:6]}",
        kind="caldav",
        url=server.url,
        username=server.username,
        password=server.password,
    )
    return ArtistCalendar.objects.create(artist=artist, account=account, calendar_url=collection.url, **fields)


def vevent(uid: str, start: datetime, end: datetime, *extra: str, summary: str = "Busy") -> bytes:
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//artist//EN",
        "BEGIN:VEVENT",
        f"UID:{uid}",
        "DTSTAMP:20260101T000000Z",
        f"DTSTART:{start:%Y%m%dT%H%M%SZ}",
        f"DTEND:{end:%Y%m%dT%H%M%SZ}",
        f"SUMMARY:{summary}",
        *extra,
        "END:VEVENT",
        "END:VCALENDAR",
        "",
    ]
    return "\r\n".join(lines).encode()
