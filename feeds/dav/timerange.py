"""When a calendar object happens: the RFC 4791 §9.9 time-range tables and recurrence instances.

Pure code over parsed ``icalendar`` components: no ORM, no HTTP. Every datetime it returns is aware UTC.
Floating times and DATE values have no zone of their own; they are read in ``floating_tz`` (the collection's
calendar-timezone, RFC 4791 §5.2.2), UTC unless the caller knows better.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo

import x_wr_timezone
from icalendar import Calendar, Component

from calsync.lib import recurrence
from calsync.lib.recurrence import DEFAULT_LIMITS, Limits, RecurrenceError

EARLIEST = datetime.min.replace(tzinfo=UTC)
LATEST = datetime.max.replace(tzinfo=UTC)
# Real UTC offsets lie within -12h..+14h, so a floating time or a date is never further than this from its
# reading in UTC: a stored span computed in UTC is exact to within it, and a prefilter widened by it is safe.
FLOATING_SLACK = timedelta(hours=14)
# An alarm's REPEAT is bounded like a recurrence; an open-ended query expands this far at most.
MAX_INSTANCES = DEFAULT_LIMITS.max_instances
HORIZON = timedelta(days=100 * 366)
RECURRING = ("VEVENT", "VTODO", "VJOURNAL")
DAY = timedelta(days=1)


@dataclass(frozen=True)
class Bounds:
    """The expansion limits of one request, and the bounds it hit as (UID, what happened) for the log."""

    limits: Limits = DEFAULT_LIMITS
    hits: list[tuple[str, str]] = field(default_factory=list)


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
    return any(_value_overlaps(value, time_range.lo, time_range.hi, tz) for value in values)


def _value_overlaps(value: object, s: datetime, e: datetime, tz: tzinfo) -> bool:
    if isinstance(value, tuple):  # a PERIOD: (start, end) or (start, duration)
        begin = as_utc(value[0], tz)
        end = shifted(value[0], value[1], tz) if isinstance(value[1], timedelta) else as_utc(value[1], tz)
        return (s < end and e > begin) or s <= begin == end < e
    if isinstance(value, datetime):
        return s <= as_utc(value, tz) < e
    if isinstance(value, date):
        return s < as_utc(value + DAY, tz) and e > as_utc(value, tz)
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


is_master = recurrence.is_master


@dataclass
class Instances:
    """``(instance, origin)`` pairs; ``exceeded`` names the expansion bound hit, if any."""

    pairs: list[tuple[Component, Component]]
    exceeded: str = ""

    def __iter__(self) -> Iterator[tuple[Component, Component]]:
        return iter(self.pairs)


def instances(
    calendar: Component, name: str, window: TimeRange | None, tz: tzinfo = UTC, bounds: Bounds | None = None
) -> Instances:
    """``(instance, origin)`` for the components called ``name``.

    Without a recurrence set (or without a window) these are the stored components themselves, so a plain
    event costs nothing. A recurrence set yields its instances that may overlap ``window`` (a superset: the
    caller applies :func:`overlaps`), overrides and EXDATE honoured; ``origin`` is the stored component it
    comes from (the master, or the override with that RECURRENCE-ID).

    Expansion goes through the one bounded expander (:mod:`calsync.lib.recurrence`). What the server does
    when it cannot expand a series:

    - a broken rule: the stored components are judged as they are (the object is not hidden);
    - a series whose expansion hits a bound (a ``FREQ=SECONDLY`` rule, a ``FREQ=MINUTELY`` one from years
      ago): ``exceeded`` is set, the pairs are the stored components, and the bound is noted in
      ``bounds.hits``. Callers then answer with the object *as stored*: a calendar-query counts its
      time-range as met (the client receives the object and can expand it; hiding a real event from a
      phone is worse than sending one too many), ``expand`` returns it unexpanded, and free-busy counts
      the whole requested range busy (the safe answer, as for booking).
    """
    stored = [c for c in calendar.subcomponents if c.name == name]
    masters = [c for c in stored if is_master(c)]
    if window is None or name not in RECURRING or not masters:
        return Instances([(c, c) for c in stored])
    overrides = {_rid(c, tz): c for c in stored if "RECURRENCE-ID" in c}
    starts = [
        as_utc(v, tz) for v in (date_value(c, "DTSTART") or date_value(c, "DUE") for c in stored) if v is not None
    ]
    lo = plus(window.start or min(starts, default=datetime(1970, 1, 1, tzinfo=UTC)), -FLOATING_SLACK)
    hi = plus(window.end, FLOATING_SLACK) if window.end else plus(lo, HORIZON)
    bounds = bounds or Bounds()
    try:
        expansion = recurrence.expand(
            calendar, lo, hi, components=(name,), limits=bounds.limits, keep_recurrence_attributes=True
        )
    except RecurrenceError:
        return Instances([(c, c) for c in stored])
    if not expansion.complete:
        bounds.hits.append((str(masters[0].get("UID", "")), expansion.detail))
        return Instances([(c, c) for c in stored], expansion.exceeded)
    return Instances([(i, overrides.get(_rid(i, tz), masters[0])) for i in expansion.instances])


def _rid(component: Component, tz: tzinfo) -> datetime | None:
    value = date_value(component, "RECURRENCE-ID")
    return None if value is None else as_utc(value, tz)


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
