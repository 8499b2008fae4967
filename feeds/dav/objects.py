"""Checking a calendar object resource a client PUTs (RFC 4791 section 4.1 and 5.3.2.1)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import icalendar

from calsync.lib.davxml import caldav
from feeds.dav.errors import DavError, forbidden, invalid_object
from feeds.dav.query import object_span

_CONTAINERS = {"VTIMEZONE"}
MAX_UID_LENGTH = 1000


@dataclass(frozen=True, slots=True)
class CheckedObject:
    uid: str
    component: str
    first_start: datetime | None
    last_end: datetime | None
    calendar: icalendar.Calendar


def check_object(data: bytes, *, content_type: str, components: list[str], max_size: int) -> CheckedObject:
    """Parse and validate; raises DavError with the precondition a client can act on."""
    calendar = _parse_calendar(data, content_type=content_type, max_size=max_size)
    uid, kind = _one_item(calendar, components)
    try:
        _, first_start, last_end = object_span(calendar)
    except (ValueError, TypeError) as exc:
        raise invalid_object(f"Unreadable dates: {exc}") from None
    return CheckedObject(uid, kind, first_start, last_end, calendar)


def _parse_calendar(data: bytes, *, content_type: str, max_size: int) -> icalendar.Calendar:
    """The body as one VCALENDAR, or the error that says what is wrong with the bytes."""
    if len(data) > max_size:
        raise forbidden(f"A calendar object may be at most {max_size} bytes.", caldav("max-resource-size"))
    media_type = content_type.split(";")[0].strip().lower()
    if media_type and media_type != "text/calendar":
        raise DavError(415, f"Send text/calendar, not {media_type}.", condition=caldav("supported-calendar-data"))
    # iCalendar is UTF-8 (RFC 5545 section 3.1.4); a NUL byte is neither text nor storable in PostgreSQL.
    if b"\x00" in data:
        raise invalid_object("A calendar object must not contain NUL bytes.")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise invalid_object(f"A calendar object must be UTF-8 (invalid byte at offset {exc.start}).") from None
    try:
        calendar = icalendar.Calendar.from_ical(data)
    except (ValueError, IndexError, KeyError) as exc:
        raise invalid_object(f"Not valid iCalendar: {exc}") from None
    if not isinstance(calendar, icalendar.Calendar) or calendar.name != "VCALENDAR":
        raise invalid_object("The body must be one VCALENDAR.")
    return calendar


def _one_item(calendar: icalendar.Calendar, components: list[str]) -> tuple[str, str]:
    """(UID, component name) of the one item RFC 4791 section 4.1 allows in a calendar object resource."""
    if "METHOD" in calendar:
        raise forbidden(
            "A stored calendar object must not have a METHOD (that is for invitations, RFC 4791 section 4.1).",
            caldav("valid-calendar-object-resource"),
        )
    members = [c for c in calendar.subcomponents if c.name not in _CONTAINERS]
    if not members:
        raise forbidden("The calendar object has no event, task or journal.", caldav("valid-calendar-object-resource"))
    kinds = {c.name for c in members}
    uids = {str(c.get("UID", "")) for c in members}
    if len(kinds) != 1 or len(uids) != 1 or "" in uids:
        raise forbidden(
            "A calendar object holds one component type with one UID (overrides share their master's UID).",
            caldav("valid-calendar-object-resource"),
        )
    (kind,) = kinds
    (uid,) = uids
    if len(uid) > MAX_UID_LENGTH:
        raise forbidden(f"A UID may be at most {MAX_UID_LENGTH} characters.", caldav("valid-calendar-object-resource"))
    if kind not in components:
        raise forbidden(
            f"This calendar takes {', '.join(components)}, not {kind}.", caldav("supported-calendar-component")
        )
    return uid, kind
