"""Availability arithmetic: pure functions over aware datetimes, no ORM, no HTTP.

Every instant is an aware ``datetime``; working hours are wall-clock times in the artist's zone,
converted to instants per local date with ``zoneinfo`` so that a day that is 23 or 25 hours long
(a DST switch) still opens and closes at the right wall time.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

_HHMM = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")


@dataclass(frozen=True, slots=True)
class Busy:
    """Something that takes the artist's time: an appointment or a calendar event."""

    start: datetime
    end: datetime
    kind: str  # "appointment" | "event"
    ref: str = ""  # appointment id, or the event's href
    summary: str = ""


@dataclass(frozen=True, slots=True)
class Rules:
    time_zone: str
    # weekday (Monday = 0) -> local [from, to) ranges; "24:00" as an end means midnight after.
    working_hours: Mapping[int, Sequence[tuple[time, time | None]]]
    buffer: timedelta = timedelta(0)
    min_notice: timedelta = timedelta(0)
    step: timedelta = timedelta(minutes=30)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


@dataclass(frozen=True, slots=True)
class Verdict:
    available: bool
    reason: str  # "available" | "invalid" | "min_notice" | "outside_working_hours" | "busy"
    conflicts: tuple[Busy, ...] = field(default=())


def parse_working_hours(raw: Mapping[str, Sequence[Sequence[str]]]) -> dict[int, list[tuple[time, time | None]]]:
    """``{"0": [["10:00", "18:00"]]}`` → ``{0: [(time(10), time(18))]}``; raises ValueError."""
    hours: dict[int, list[tuple[time, time | None]]] = {}
    for key, ranges in raw.items():
        day = int(key)
        if not 0 <= day <= 6:
            raise ValueError(f"weekday {key!r} must be 0 (Monday) to 6 (Sunday)")
        parsed = []
        for pair in ranges:
            begin, end = (_parse_hhmm(value) for value in pair)
            if begin is None:
                raise ValueError("a working range cannot start at 24:00")
            if end is not None and end <= begin:
                raise ValueError(f"working range {pair[0]}-{pair[1]} ends before it starts")
            parsed.append((begin, end))
        hours[day] = sorted(parsed)
    return hours


def _parse_hhmm(value: str) -> time | None:
    match = _HHMM.match(value)
    if not match or (match[1] == "24" and match[2] != "00"):
        raise ValueError(f"{value!r} is not a time of day like 09:30")
    if match[1] == "24":
        return None  # midnight at the end of the day
    return time(int(match[1]), int(match[2]))


def working_windows(rules: Rules, day: date) -> list[tuple[datetime, datetime]]:
    """The working intervals of one local date, as UTC instants (exact across DST)."""
    zone = rules.zone
    windows = []
    for begin, end in rules.working_hours.get(day.weekday(), ()):
        start = datetime.combine(day, begin, tzinfo=zone)
        stop = (
            datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
            if end is None
            else datetime.combine(day, end, tzinfo=zone)
        )
        windows.append((start.astimezone(UTC), stop.astimezone(UTC)))
    return windows


def within_working_hours(rules: Rules, start: datetime, end: datetime) -> bool:
    local_day = start.astimezone(rules.zone).date()
    # Windows of the neighbouring days count too (a night shift), and adjacent windows
    # (18:00-24:00 then 00:00-02:00) merge into one.
    return _covered(_merged(rules, local_day), start, end)


def _merged(rules: Rules, local_day: date) -> list[tuple[datetime, datetime]]:
    windows = sorted(w for d in range(-1, 2) for w in working_windows(rules, local_day + timedelta(days=d)))
    merged: list[tuple[datetime, datetime]] = []
    for begin, end in windows:
        if merged and begin <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((begin, end))
    return merged


def _covered(windows: Iterable[tuple[datetime, datetime]], start: datetime, end: datetime) -> bool:
    return any(begin <= start and end <= stop for begin, stop in windows)


def overlapping(busy: Iterable[Busy], start: datetime, end: datetime, buffer: timedelta) -> tuple[Busy, ...]:
    """Busy items overlapping ``[start - buffer, end + buffer)``; touching ends do not overlap."""
    low, high = start - buffer, end + buffer
    return tuple(item for item in busy if item.start < high and item.end > low)


def check(rules: Rules, start: datetime, end: datetime, *, now: datetime, busy: Iterable[Busy]) -> Verdict:
    """May ``[start, end)`` be booked? ``busy`` may hold anything near; only overlaps count."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be aware datetimes")
    if end <= start:
        return Verdict(False, "invalid")
    if start < now + rules.min_notice:
        return Verdict(False, "min_notice")
    if not within_working_hours(rules, start, end):
        return Verdict(False, "outside_working_hours")
    conflicts = overlapping(busy, start, end, rules.buffer)
    if conflicts:
        return Verdict(False, "busy", tuple(sorted(conflicts, key=lambda item: (item.start, item.ref))))
    return Verdict(True, "available")


def slots(rules: Rules, day: date, duration: timedelta, *, now: datetime, busy: Sequence[Busy]) -> list[datetime]:
    """Bookable start times on a local ``day``: every ``rules.step`` from each window's opening."""
    if duration <= timedelta(0):
        return []
    starts = []
    for window_start, window_end in working_windows(rules, day):
        candidate = window_start
        while candidate + duration <= window_end:
            if check(rules, candidate, candidate + duration, now=now, busy=busy).available:
                starts.append(candidate)
            candidate += rules.step
    return starts


def split(start: datetime, end: datetime, longest: timedelta) -> Iterator[tuple[datetime, datetime]]:
    """Cut ``[start, end)`` into consecutive pieces no longer than ``longest`` (for indexed lookups)."""
    while end - start > longest:
        yield start, start + longest
        start += longest
    if end > start:
        yield start, end
