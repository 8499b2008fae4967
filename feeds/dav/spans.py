"""What the database stores to narrow a query: each object's [first start, last end] span, and the widened
range to compare it with. Computed from rules, never by expanding every instance, since it runs on every PUT."""

from __future__ import annotations

from datetime import date, datetime, timedelta, tzinfo

from icalendar import Calendar, Component

from calsync.lib.recurrence import counted_last_start
from feeds.dav.timerange import (
    DAY,
    FLOATING_SLACK,
    UTC,
    TimeRange,
    as_utc,
    date_value,
    duration_value,
    event_bounds,
    freebusy_periods,
    is_master,
    plus,
    shifted,
    standardized,
)

MAX_COUNT = 10000


def candidate_range(start: datetime | None, end: datetime | None) -> tuple[datetime | None, datetime | None]:
    """[start, end) widened so that stored spans (computed with floating times read as UTC) can be compared
    against it with plain inequalities: ``first_start < end`` and ``last_end > start``, NULL meaning open."""
    widened = TimeRange(start, end).widened(FLOATING_SLACK, FLOATING_SLACK)
    return widened.start, widened.end


def object_span(calendar: Calendar) -> tuple[str, datetime | None, datetime | None]:
    """(component type, first start, last end) of one calendar object resource, for the stored columns.

    Floating times and dates are read as UTC (compare with :func:`candidate_range`); an endless RRULE gives
    no end; a component without any time (a VTODO with no dates) gives None/None, which every range selects.
    """
    calendar = standardized(calendar)
    members = [c for c in calendar.subcomponents if c.name != "VTIMEZONE"]
    if not members:
        return "", None, None
    name = members[0].name
    stored = [c for c in members if c.name == name]
    if any(is_master(c) for c in stored):
        return name, *series_span(stored)
    spans = [component_span(c) for c in stored]
    lows, highs = [s[0] for s in spans], [s[1] for s in spans]
    return name, None if None in lows else min(lows), None if None in highs else max(highs)


def component_span(component: Component, tz: tzinfo = UTC) -> tuple[datetime | None, datetime | None]:
    """Inclusive [lo, hi] outside which no time range can match this one component (None: unbounded)."""
    if component.name == "VEVENT":
        bounds = event_bounds(component, tz)
        return bounds if bounds else (None, None)
    if component.name == "VJOURNAL":
        start = date_value(component, "DTSTART")
        return (None, None) if start is None else (as_utc(start, tz), as_utc(start + DAY, tz))
    if component.name == "VFREEBUSY":
        start, end = date_value(component, "DTSTART"), date_value(component, "DTEND")
        if start is not None and end is not None:
            return as_utc(start, tz), as_utc(end, tz)
        periods = freebusy_periods(component, tz)
        return (min(p[0] for p in periods), max(p[1] for p in periods)) if periods else (None, None)
    return _todo_span(component, tz) if component.name == "VTODO" else (None, None)


def _todo_span(todo: Component, tz: tzinfo) -> tuple[datetime | None, datetime | None]:
    start, due, duration = date_value(todo, "DTSTART"), date_value(todo, "DUE"), duration_value(todo)
    points = [as_utc(v, tz) for v in (start, due) if v is not None]
    if start is not None and duration is not None and due is None:
        points.append(shifted(start, duration, tz))
    if not points:
        points = [as_utc(v, tz) for v in (date_value(todo, "COMPLETED"), date_value(todo, "CREATED")) if v is not None]
        if "COMPLETED" not in todo and points:
            return points[0], None
    return (min(points), max(points)) if points else (None, None)


def series_span(stored: list[Component], tz: tzinfo = UTC) -> tuple[datetime | None, datetime | None]:
    """The span of a recurrence set, computed from its rules rather than by expanding every instance."""
    spans = [component_span(c, tz) for c in stored]
    lows, highs = [s[0] for s in spans], [s[1] for s in spans]
    lo = None if None in lows else min(lows, default=None)
    hi = None if None in highs else max(highs, default=None)
    master = next((c for c in stored if is_master(c)), None)
    if master is None or hi is None:
        return lo, hi
    length = max((h - low for low, h in spans if low is not None and h is not None), default=timedelta(0))
    last = _last_start(master, tz)
    if last is None:
        return lo, None
    rdates = [as_utc(v[0] if isinstance(v, tuple) else v, tz) for v in _list_values(master, "RDATE")]
    lo = lo and min([lo, *rdates])
    period_ends = [_period_end(v, tz) for v in _list_values(master, "RDATE") if isinstance(v, tuple)]
    return lo, max([hi, plus(last, length), *(plus(r, length) for r in rdates), *period_ends])


def _list_values(component: Component, name: str) -> list:
    props = component.get(name, [])
    return [item.dt for prop in (props if isinstance(props, list) else [props]) for item in prop.dts]


def _period_end(period: tuple, tz: tzinfo) -> datetime:
    begin, end = period
    return shifted(begin, end, tz) if isinstance(end, timedelta) else as_utc(end, tz)


def _last_start(master: Component, tz: tzinfo) -> datetime | None:
    """The latest start any RRULE allows (UNTIL, or the COUNTth occurrence), None for an endless rule."""
    start = date_value(master, "DTSTART")
    rules = master.get("RRULE", [])
    last = as_utc(start, tz) if start is not None else None
    for rule in rules if isinstance(rules, list) else [rules]:
        if rule.get("UNTIL"):
            until = rule["UNTIL"][0]
            bound = as_utc(until, tz) if isinstance(until, datetime) else as_utc(until + DAY, tz)
        elif rule.get("COUNT") and start is not None:
            bound = _counted_last(rule, start, tz)
        else:
            return None
        if bound is None:
            return None
        last = bound if last is None else max(last, bound)
    return last


def _counted_last(rule: object, start: date | datetime, tz: tzinfo) -> datetime | None:
    """The COUNTth start, computed on wall-clock time as RFC 5545 counts it, then placed in DTSTART's zone."""
    if int(rule["COUNT"][0]) > MAX_COUNT:
        return None
    wall = start.replace(tzinfo=None) if isinstance(start, datetime) else datetime(start.year, start.month, start.day)
    try:
        last = counted_last_start(rule, wall)  # bounded: a rule that rarely matches is taken as endless
    except (ValueError, TypeError):
        return None
    if last is None:
        return None
    return as_utc(last.replace(tzinfo=start.tzinfo) if isinstance(start, datetime) else last, tz)
