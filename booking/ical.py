"""Appointment ↔ iCalendar: pure functions over plain values (no ORM, no HTTP)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import icalendar

REQUEST_PREFIX = "REQUEST: "


@dataclass(frozen=True, slots=True)
class EventFacts:
    uid: str
    start: datetime
    end: datetime
    summary: str
    description: str = ""
    confirmed: bool = False


def appointment_event(facts: EventFacts, *, stamp: datetime) -> bytes:
    """A standalone VCALENDAR with one VEVENT; pending requests are prefixed ``REQUEST: ``."""
    calendar = icalendar.Calendar()
    calendar.add("PRODID", "-//calsync//booking//EN")
    calendar.add("VERSION", "2.0")
    event = icalendar.Event()
    event.add("UID", facts.uid)
    event.add("DTSTAMP", stamp.astimezone(UTC))
    event.add("DTSTART", facts.start.astimezone(UTC))
    event.add("DTEND", facts.end.astimezone(UTC))
    event.add("SUMMARY", facts.summary if facts.confirmed else REQUEST_PREFIX + facts.summary)
    if facts.description:
        event.add("DESCRIPTION", facts.description)
    event.add("STATUS", "CONFIRMED" if facts.confirmed else "TENTATIVE")
    calendar.add_component(event)
    return calendar.to_ical()


@dataclass(frozen=True, slots=True)
class EventTimes:
    uid: str
    start: datetime
    end: datetime
    summary: str


def event_times(data: bytes) -> EventTimes | None:
    """The first VEVENT's UID, start and end (UTC) and summary; ``None`` when unreadable."""
    try:
        calendar = icalendar.Calendar.from_ical(data)
    except ValueError:
        return None
    for event in calendar.walk("VEVENT"):
        if event.get("RECURRENCE-ID") is not None:
            continue
        start, end = event.get("DTSTART"), event.get("DTEND")
        if start is None or end is None or not isinstance(start.dt, datetime) or start.dt.tzinfo is None:
            return None
        return EventTimes(
            str(event.get("UID", "")), start.dt.astimezone(UTC), end.dt.astimezone(UTC), str(event.get("SUMMARY", ""))
        )
    return None
