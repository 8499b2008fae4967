"""When a calendar object happens: the RFC 4791 §9.9 time-range tables and recurrence instances.

Pure code over parsed ``icalendar`` components: no ORM, no HTTP. Every datetime it returns is aware UTC.
Floating times and DATE values have no zone of their own; they are read in ``floating_tz`` (the collection's
calendar-timezone, RFC 4791 §5.2.2), UTC unless the caller knows better.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo

import recurring_ical_events
import x_wr_timezone
from icalendar import Calendar, Component

EARLIEST = datetime.min.replace(tzinfo=UTC)
LATEST = datetime.max.replace(tzinfo=UTC)
# Real UTC offsets lie within -12h..+14h, so a floating time or a date is never further than this from its
# reading in UTC: a stored span computed in UTC is exact to within it, and a prefilter widened by it is safe.
FLOATING_SLACK = timedelta(hours=14)
# Bounds on expanding one recurrence set, so a minutely RRULE or an open-ended query cannot run away.
MAX_INSTANCES = 5000
HORIZON = timedelta(days=100 * 366)
# dateutil walks a rule from DTSTART, so reaching a window far from it costs one step per period on the way.
MAX_STEPS = 100_000
_PERIODS = {
    "SECONDLY": timedelta(seconds=1), "MINUTELY": timedelta(minutes=1), "HOURLY": timedelta(hours=1),
    "DAILY": timedelta(days=1), "WEEKLY": timedelta(days=7), "MONTHLY": timedelta(days=28),
    "YEARLY": timedelta(days=365),
}  # fmt: skip
RECURRING = ("VEVENT", "VTODO", "VJOURNAL")
_EXPANSION_ERRORS = (ValueError, TypeError, OverflowError, KeyError, AttributeError)
DAY = timedelta(days=1)


@dataclass(frozen=True)
class TimeRange:
    """A CALDAV:time-range: [start, end) in UTC, either side may be open (None)."""

    start: datetime | None = None
    end: datetime | None = None

    @property
    def lo(self) -> datetime:
        return self.start or EARLIEST

    @property
    def hi(self) -> datetime:
        return self.end or LATEST

    def widened(self, before: timedelta, after: timedelta) -> TimeRange:
        return TimeRange(self.start and plus(self.start, -before), self.end and plus(self.end, after))


def plus(value: datetime, delta: timedelta) -> datetime:
    try:
        return value + delta
    except OverflowError:
        return LATEST if delta > timedelta(0) else EARLIEST


def as_utc(value: date | datetime, floating_tz: tzinfo = UTC) -> datetime:
    """An iCalendar DATE or DATE-TIME as an aware UTC instant; a date is its midnight."""
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if value.tzinfo is None:
        value = value.replace(tzinfo=floating_tz)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        return EARLIEST if value.year == 1 else LATEST


def shifted(value: date | datetime, duration: timedelta, floating_tz: tzinfo = UTC) -> datetime:
    """``value + duration`` per RFC 5545 §3.3.6: whole days are nominal (P1D across a DST change is 23 or 25
    hours), the rest is exact time."""
    sign = -1 if duration < timedelta(0) else 1
    size = abs(duration)
    try:
        wall = value + sign * timedelta(days=size.days)
    except OverflowError:
        return LATEST if sign > 0 else EARLIEST
    return plus(as_utc(wall, floating_tz), sign * (size - timedelta(days=size.days)))


def date_value(component: Component, name: str) -> date | datetime | None:
    prop = component.get(name)
    if isinstance(prop, list):
        prop = prop[0]
    value = getattr(prop, "dt", None)
    return value if isinstance(value, date) else None


def duration_value(component: Component) -> timedelta | None:
    value = getattr(component.get("DURATION"), "dt", None)
    return value if isinstance(value, timedelta) else None


# --- the §9.9 tables: (lo, hi, point) per component, then one comparison ------------------------------------


def event_bounds(event: Component, tz: tzinfo = UTC) -> tuple[datetime, datetime] | None:
    """The VEVENT's effective [start, end) per the §9.9 table (no end: zero for a DATE-TIME, one day for a DATE)."""
    start = date_value(event, "DTSTART")
    if start is None:
        return None
    begin, end, duration = as_utc(start, tz), date_value(event, "DTEND"), duration_value(event)
    if end is not None:
        return begin, as_utc(end, tz)
    if duration is not None:
        return begin, max(begin, shifted(start, duration, tz))
    return begin, begin if isinstance(start, datetime) else as_utc(start + DAY, tz)


def _event(event: Component, s: datetime, e: datetime, tz: tzinfo) -> bool:
    bounds = event_bounds(event, tz)
    if bounds is None:
        return False
    begin, end = bounds
    zero_length = "DTEND" not in event and begin == end
    return (s <= begin < e) if zero_length else (s < end and e > begin)


def _todo(todo: Component, s: datetime, e: datetime, tz: tzinfo) -> bool:
    start, due, duration = date_value(todo, "DTSTART"), date_value(todo, "DUE"), duration_value(todo)
    if start is not None:
        ds = as_utc(start, tz)
        if due is not None:
            dd = as_utc(due, tz)
            return (s < dd or s <= ds) and (e > ds or e >= dd)
        if duration is not None:
            dd = shifted(start, duration, tz)
            return s <= dd and (e > ds or e >= dd)
        return s <= ds < e
    if due is not None:
        dd = as_utc(due, tz)
        return s < dd <= e
    completed, created = date_value(todo, "COMPLETED"), date_value(todo, "CREATED")
    co = completed and as_utc(completed, tz)
    cr = created and as_utc(created, tz)
    if co and cr:
        return (s <= cr or s <= co) and (e >= cr or e >= co)
    if co:
        return s <= co <= e
    if cr:
        return e > cr
    return True


def _journal(journal: Component, s: datetime, e: datetime, tz: tzinfo) -> bool:
    start = date_value(journal, "DTSTART")
    if start is None:
        return False
    begin = as_utc(start, tz)
    if isinstance(start, datetime):
        return s <= begin < e
    return s < as_utc(start + DAY, tz) and e > begin


def freebusy_periods(component: Component, tz: tzinfo = UTC) -> list[tuple[datetime, datetime, str]]:
    """The FREEBUSY periods of a VFREEBUSY as (start, end, FBTYPE) in UTC."""
    props = component.get("FREEBUSY", [])
    periods = []
    for prop in props if isinstance(props, list) else [props]:
        value = getattr(prop, "dt", None)
        if not isinstance(value, tuple):
            continue
        begin, end = value
        kind = str(prop.params.get("FBTYPE", "BUSY")).upper()
        stop = shifted(begin, end, tz) if isinstance(end, timedelta) else as_utc(end, tz)
        periods.append((as_utc(begin, tz), stop, kind))
    return periods


def _freebusy(component: Component, s: datetime, e: datetime, tz: tzinfo) -> bool:
    start, end = date_value(component, "DTSTART"), date_value(component, "DTEND")
    if start is not None and end is not None:
        return s <= as_utc(end, tz) and e > as_utc(start, tz)
    return any(s < stop and e > begin for begin, stop, _ in freebusy_periods(component, tz))


def alarm_times(alarm: Component, parent: Component, tz: tzinfo = UTC) -> list[datetime]:
    """Every time the VALARM fires for this parent (instance): its TRIGGER and its REPEATs."""
    trigger = alarm.get("TRIGGER")
    offset = getattr(trigger, "dt", None)
    if isinstance(offset, timedelta):
        related = str(trigger.params.get("RELATED", "START")).upper()
        anchor = _alarm_anchor(parent, related, tz)
        if anchor is None:
            return []
        first = plus(anchor, offset)
    elif isinstance(offset, date):
        first = as_utc(offset, tz)
    else:
        return []
    repeat, every = alarm.get("REPEAT"), duration_value(alarm)
    count = min(int(repeat), MAX_INSTANCES) if repeat is not None and every else 0
    return [first] + [plus(first, every * n) for n in range(1, count + 1)]


def _alarm_anchor(parent: Component, related: str, tz: tzinfo) -> datetime | None:
    """The instant a relative TRIGGER counts from (RFC 5545 §3.8.6.3). A task with only one of DTSTART and
    DUE counts from the one it has, as RFC 4791's own §7.8.5 example (a DUE-only task) expects."""
    if parent.name == "VEVENT":
        bounds = event_bounds(parent, tz)
        return bounds and (bounds[1] if related == "END" else bounds[0])
    start, due, duration = date_value(parent, "DTSTART"), date_value(parent, "DUE"), duration_value(parent)
    end = shifted(start, duration, tz) if start is not None and duration is not None else None
    if due is not None:
        end = as_utc(due, tz)
    begin = as_utc(start, tz) if start is not None else None
    return (end or begin) if related == "END" else (begin or end)


def _alarm(alarm: Component, s: datetime, e: datetime, tz: tzinfo, parent: Component | None) -> bool:
    return parent is not None and any(s <= when < e for when in alarm_times(alarm, parent, tz))


_TABLES = {"VEVENT": _event, "VTODO": _todo, "VJOURNAL": _journal, "VFREEBUSY": _freebusy}
TIME_RANGE_COMPONENTS = (*_TABLES, "VALARM")


def overlaps(component: Component, time_range: TimeRange, tz: tzinfo = UTC, parent: Component | None = None) -> bool:
    """Whether the component (one instance) overlaps the time range, exactly as the §9.9 tables say."""
    if component.name == "VALARM":
        return _alarm(component, time_range.lo, time_range.hi, tz, parent)
    table = _TABLES.get(component.name)
    return table is not None and table(component, time_range.lo, time_range.hi, tz)


def property_overlaps(prop: object, time_range: TimeRange, tz: tzinfo = UTC) -> bool:
    """A prop-filter's time-range: a DATE-TIME lies in [start, end), a DATE's day or a PERIOD overlaps it."""
    values = [item.dt for item in prop.dts] if hasattr(prop, "dts") else [getattr(prop, "dt", None)]
    s, e = time_range.lo, time_range.hi
    for value in values:
        if isinstance(value, tuple):
            begin = as_utc(value[0], tz)
            end = shifted(value[0], value[1], tz) if isinstance(value[1], timedelta) else as_utc(value[1], tz)
            if (s < end and e > begin) or s <= begin == end < e:
                return True
        elif isinstance(value, datetime) and s <= as_utc(value, tz) < e:
            return True
        elif isinstance(value, date) and not isinstance(value, datetime):
            if s < as_utc(value + DAY, tz) and e > as_utc(value, tz):
                return True
    return False


# --- recurrence instances -----------------------------------------------------------------------------------


def calendar_zone(text: str | bytes | None) -> tzinfo:
    """The zone floating times are read in: a collection's calendar-timezone (a VCALENDAR holding one
    VTIMEZONE, RFC 4791 §5.2.2), known TZIDs from the tz database; UTC when absent or unreadable."""
    if not text:
        return UTC
    try:
        zones = Calendar.from_ical(text).walk("VTIMEZONE")
        return zones[0].to_tz() if zones else UTC
    except (ValueError, KeyError, TypeError, IndexError):
        return UTC


def standardized(calendar: Component) -> Component:
    """Google's X-WR-TIMEZONE reinterprets floating times; recurring-ical-events applies it, so every path must."""
    return x_wr_timezone.to_standard(calendar) if "X-WR-TIMEZONE" in calendar else calendar


def is_master(component: Component) -> bool:
    return ("RRULE" in component or "RDATE" in component) and "RECURRENCE-ID" not in component


def instances(
    calendar: Component, name: str, window: TimeRange | None, tz: tzinfo = UTC
) -> Iterator[tuple[Component, Component]]:
    """``(instance, origin)`` for the components called ``name``.

    Without a recurrence set (or without a window) these are the stored components themselves, so a plain
    event costs nothing. A recurrence set yields its instances that may overlap ``window`` (a superset: the
    caller applies :func:`overlaps`), overrides and EXDATE honoured; ``origin`` is the stored component it
    comes from (the master, or the override with that RECURRENCE-ID).
    """
    stored = [c for c in calendar.subcomponents if c.name == name]
    masters = [c for c in stored if is_master(c)]
    if window is None or name not in RECURRING or not masters:
        yield from ((c, c) for c in stored)
        return
    overrides = {_rid(c, tz): c for c in stored if "RECURRENCE-ID" in c}
    produced = 0
    try:
        if _too_costly(masters[0], window.start, tz):
            raise ValueError("too many recurrences before the window")
        for instance in _expanded(calendar, name, stored, window, tz):
            produced += 1
            yield instance, overrides.get(_rid(instance, tz), masters[0])
    except _EXPANSION_ERRORS:
        # A broken (or absurdly dense) RRULE must not hide the object nor stall the server: it is then judged
        # by its stored components.
        if not produced:
            yield from ((c, c) for c in stored)


def _too_costly(master: Component, start: datetime | None, tz: tzinfo) -> bool:
    """Whether reaching ``start`` takes dateutil more than MAX_STEPS periods (a FREQ=MINUTELY rule from years
    ago, say); COUNT bounds the walk."""
    dtstart = date_value(master, "DTSTART")
    rules = master.get("RRULE", [])
    if start is None or dtstart is None:
        return False
    for rule in rules if isinstance(rules, list) else [rules]:
        every = max(1, int(rule.get("INTERVAL", [1])[0]))
        period = _PERIODS.get(str(rule.get("FREQ", ["DAILY"])[0]).upper(), DAY) * every
        steps = (start - as_utc(dtstart, tz)) / period
        if min(steps, int(rule.get("COUNT", [steps])[0])) > MAX_STEPS:
            return True
    return False


def _rid(component: Component, tz: tzinfo) -> datetime | None:
    value = date_value(component, "RECURRENCE-ID")
    return None if value is None else as_utc(value, tz)


def _expanded(calendar: Component, name: str, stored: list[Component], window: TimeRange, tz: tzinfo):
    """Instances in start order, fetched window by window: ``between`` is cheap, ``after`` is not."""
    starts = [
        as_utc(v, tz) for v in (date_value(c, "DTSTART") or date_value(c, "DUE") for c in stored) if v is not None
    ]
    lo = plus(window.start or min(starts, default=datetime(1970, 1, 1, tzinfo=UTC)), -FLOATING_SLACK)
    hi = plus(window.end, FLOATING_SLACK) if window.end else plus(lo, HORIZON)
    query = recurring_ical_events.of(calendar, keep_recurrence_attributes=True, components=[name])
    seen: set[tuple[str, datetime | None]] = set()
    step, count = DAY, 0
    while lo < hi and count < MAX_INSTANCES:
        stop = min(plus(lo, step), hi)
        batch = [c for c in query.between(lo, stop) if (str(c.get("UID")), _rid(c, tz)) not in seen]
        batch.sort(key=lambda c: as_utc(date_value(c, "DTSTART") or lo, tz))
        for instance in batch[: MAX_INSTANCES - count]:
            seen.add((str(instance.get("UID")), _rid(instance, tz)))
            yield instance
        count += len(batch)
        step = step / 2 if len(batch) > 200 and step > timedelta(hours=1) else step * 2 if len(batch) < 20 else step
        lo = stop


def instance_view(instance: Component, origin: Component) -> Component:
    """The instance with the properties its origin really has.

    recurring-ical-events writes DTEND/DUE (dropping DURATION) and RECURRENCE-ID into every instance, but the
    §9.9 tables and prop-filters such as "RECURRENCE-ID is-not-defined" depend on what the component holds.
    """
    if instance is origin:
        return origin
    view = instance.copy()
    view.subcomponents = instance.subcomponents
    for name in ("DTSTART", "DTEND", "DUE", "RECURRENCE-ID"):
        if name in view and name not in origin:
            del view[name]
    if "DURATION" in origin:
        view["DURATION"] = origin["DURATION"]
    return view
