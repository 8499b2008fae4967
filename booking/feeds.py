"""Appointments as calendar objects for the ICS feeds machinery (which lives in ``feeds``).

The feeds registry calls ``appointment_objects(feed)`` for a feed whose ``source_ref`` is an
artist id; this module only renders, it knows nothing about URLs, tokens or caching.
"""

from __future__ import annotations

from typing import Protocol

from django.utils import timezone

from booking.ical import appointment_event
from booking.models import Appointment, Artist
from booking.pushes import appointment_facts


class FeedLike(Protocol):
    source_ref: str


def appointment_ical(appointment: Appointment) -> bytes:
    """One appointment as a standalone VCALENDAR; DTSTAMP is the row's last change, so the bytes only
    move when the appointment does."""
    return appointment_event(appointment_facts(appointment), stamp=appointment.updated_at or timezone.now())


def appointment_objects(feed: FeedLike) -> list[bytes]:
    """One standalone VCALENDAR per non-cancelled appointment of artist ``int(feed.source_ref)``.

    Pending requests are included as they appear in the artist's calendar (``REQUEST: `` prefix,
    STATUS:TENTATIVE): the time is held for them. An unknown artist is an error, so the feed shows
    it instead of publishing an empty calendar.
    """
    try:
        artist_id = int(feed.source_ref)
    except (TypeError, ValueError):
        raise LookupError(f"an appointments feed names an artist by id, not {feed.source_ref!r}") from None
    if not Artist.objects.filter(pk=artist_id).exists():
        raise LookupError(f"no artist with id {artist_id}")
    appointments = (
        Appointment.objects.filter(artist_id=artist_id)
        .exclude(status=Appointment.Status.CANCELLED)
        .order_by("start", "id")
    )
    return [appointment_ical(a) for a in appointments.iterator()]
