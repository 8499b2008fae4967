"""Expand one calendar object into the busy intervals it causes within a window.

Recurrences are expanded by the one bounded expander, :mod:`calsync.lib.recurrence` (RRULE,
RDATE, EXDATE and RECURRENCE-ID overrides). An object whose expansion hits a bound (a
``FREQ=SECONDLY`` rule without an end, say) makes the artist busy for the whole window: a booking
refused is recoverable, a double booking is not. What does not take time: ``TRANSP:TRANSPARENT``
(shown as free), ``STATUS:CANCELLED`` (a cancelled series or a single cancelled occurrence),
zero-length events and non-VEVENTs. All-day and floating times are read in the artist's zone; zoned times are exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import icalendar
import x_wr_timezone

from calsync.lib.recurrence import DEFAULT_LIMITS, Limits, expand

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


@dataclass(frozen=True, slots=True)
class BusyExpansion:
    intervals: list[BusyInterval]
    exceeded: str = ""  # the expansion bound hit ("" when complete): the window is then all busy
    detail: str = ""


def busy_intervals(
    data: bytes, *, zone: ZoneInfo, start: datetime, end: datetime, limits: Limits = DEFAULT_LIMITS
) -> list[BusyInterval]:
    """Busy intervals of ``data`` overlapping ``[start, end)``, sorted by start."""
    return busy_expansion(data, zone=zone, start=start, end=end, limits=limits).intervals


def busy_expansion(
    data: bytes, *, zone: ZoneInfo, start: datetime, end: datetime, limits: Limits = DEFAULT_LIMITS
) -> BusyExpansion:
    """Busy intervals of ``data`` overlapping ``[start, end)``, and whether a bound was hit.

    When the expansion hits a bound the answer is one interval covering the whole window, named
    after the object's first event, so the artist cannot be booked over an event nobody can list.
    """
    try:
        calendar = x_wr_timezone.to_standard(icalendar.Calendar.from_ical(data))
        expansion = expand(calendar, start - _MARGIN, end + _MARGIN, components=("VEVENT",), limits=limits)
    except Exception as exc:  # RecurrenceError, and icalendar raises many unrelated types on bad data
        raise UnreadableCalendar(f"cannot expand calendar data: {exc}") from exc
    if not expansion.complete:
        first = next(iter(calendar.walk("VEVENT")), None)
        whole = BusyInterval(
            start=start,
            end=end,
            uid=str(first.get("UID", "")) if first else "",
            summary=str(first.get("SUMMARY", ""))[:300] if first else "",
            all_day=False,
        )
        return BusyExpansion([whole], expansion.exceeded, expansion.detail)
    return BusyExpansion(_intervals(expansion.instances, zone=zone, start=start, end=end))


def _intervals(occurrences: list, *, zone: ZoneInfo, start: datetime, end: datetime) -> list[BusyInterval]:
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
