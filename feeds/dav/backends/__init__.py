"""Which calendars a user's home holds: their own, then the artists' they were granted."""

from __future__ import annotations

from feeds.dav.backends.appointments import SLUG_PREFIX, AppointmentCalendar
from feeds.dav.backends.base import CalendarNode
from feeds.dav.backends.local import LocalCalendar
from feeds.dav.models import ArtistGrant, Calendar

RESERVED_PREFIXES = (SLUG_PREFIX,)


def calendars_of(user, *, home_href: str) -> list[CalendarNode]:
    own: list[CalendarNode] = [LocalCalendar(row, home_href=home_href) for row in Calendar.objects.filter(owner=user)]
    grants = ArtistGrant.objects.filter(user=user, artist__active=True).select_related("artist")
    return own + [AppointmentCalendar(grant) for grant in grants.order_by("order", "artist__slug")]


def calendar_named(user, slug: str, *, home_href: str) -> CalendarNode | None:
    if slug.startswith(SLUG_PREFIX):
        grant = (
            ArtistGrant.objects.filter(user=user, artist__active=True, artist__slug=slug.removeprefix(SLUG_PREFIX))
            .select_related("artist")
            .first()
        )
        return AppointmentCalendar(grant) if grant else None
    row = Calendar.objects.filter(owner=user, slug=slug).first()
    return LocalCalendar(row, home_href=home_href) if row else None


def calendar_create(user, slug: str, values: dict, *, home_href: str) -> LocalCalendar:
    row = Calendar.objects.create(owner=user, slug=slug, **values)
    return LocalCalendar(row, home_href=home_href)
