"""Expand one calendar object into the busy intervals it causes within a window.

Recurrences are expanded by ``recurring-ical-events`` (RRULE, RDATE, EXDATE and RECURRENCE-ID
overrides). What does not take time: ``TRANSP:TRANSPARENT`` (shown as free), ``STATUS:CANCELLED``
(a cancelled series or a single cancelled occurrence), zero-length events and non-VEVENTs.
All-day and floating times are read in the artist's zone; zoned times are exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events
import x_wr_timezone

# A floating event near the window's edge may fall either side depending on the zone; expanding a
# little wider and filtering exactly afterwards gets them all.
_MARGIN = timedelta(days=2)


@dataclass(frozen=True, slots=True)
class BusyInterval:
    start: datetime  # aware, UTC
    end: datetime
    uid: str
    summary: str
    all_day: bool


class UnreadableCalendar(ValueError):
    """The object is not iCalendar data we can expand."""


def busy_intervals(data: bytes, *, zone: ZoneInfo, start: datetime, end: datetime) -> list[BusyInterval]:
    """Busy intervals of ``data`` overlapping ``[start, end)``, sorted by start."""
    try:
        calendar = x_wr_timezone.to_standard(icalendar.Calendar.from_ical(data))
        occurrences = list(
            recurring_ical_events.of(calendar, components=["VEVENT"]).between(start - _MARGIN, end + _MARGIN)
        )
    except Exception as exc:  # icalendar and the expander raise many unrelated types on bad data
        raise UnreadableCalendar(f"cannot expand calendar data: {exc}") from exc
    intervals = []
    for event in occurrences:
        if str(event.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT":
            continue
        if str(event.get("STATUS", "")).upper() == "CANCELLED":
            continue
        begin_prop, end_prop = event.get("DTSTART"), event.get("DTEND")
        if begin_prop is None or end_prop is None:
            continue
        begin, finish = _instant(begin_prop.dt, zone), _instant(end_prop.dt, zone)
        if finish <= begin or not (begin < end and finish > start):
            continue
        intervals.append(
            BusyInterval(
                start=begin,
                end=finish,
                uid=str(event.get("UID", "")),
                summary=str(event.get("SUMMARY", ""))[:300],
                all_day=not isinstance(begin_prop.dt, datetime),
            )
        )
    return sorted(intervals, key=lambda item: (item.start, item.end, item.uid))


def _instant(value: date | datetime, zone: ZoneInfo) -> datetime:
    if not isinstance(value, datetime):
        # All-day: the artist's whole local day, midnight to midnight (23 or 25 hours across DST).
        value = datetime.combine(value, time(0))
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)  # floating: the artist's wall clock
    return value.astimezone(UTC)
