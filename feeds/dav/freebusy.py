"""Instances in UTC: calendar-data ``expand`` (RFC 4791 §9.6.5) and the free-busy-query answer (§7.10)."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import datetime, tzinfo
from itertools import groupby

from icalendar import Calendar, Component, FreeBusy
from icalendar.prop import vDDDTypes

from feeds.dav.timerange import (
    UTC,
    Bounds,
    TimeRange,
    as_utc,
    event_bounds,
    freebusy_periods,
    instance_view,
    instances,
    overlaps,
    standardized,
)

PRODID = "-//calsync//CalDAV server//EN"
# Where busy periods of different kinds overlap, the stronger one is reported for that stretch.
BUSY_PRIORITY = {"BUSY-TENTATIVE": 1, "BUSY-UNAVAILABLE": 2, "BUSY": 3}
_RECURRENCE_PROPS = ("RRULE", "RDATE", "EXDATE", "EXRULE")
_EXPANDED = ("VEVENT", "VTODO", "VJOURNAL", "VFREEBUSY")

Period = tuple[datetime, datetime, str]


def expand(
    calendar: Calendar, start: datetime, end: datetime, floating_tz: tzinfo = UTC, bounds: Bounds | None = None
) -> Calendar:
    """Every instance overlapping [start, end) as a component of its own, in UTC (RFC 4791 §9.6.5).

    Recurring instances carry RECURRENCE-ID and no RRULE/RDATE/EXDATE; VTIMEZONEs are dropped since nothing
    refers to them any more; components outside the range are left out. DATE values stay dates. A series too
    costly to expand is answered as stored (rules, zones and all; the bound is noted in ``bounds.hits``).
    """
    calendar = standardized(calendar)
    window = TimeRange(start, end)
    result = Calendar()
    for key, value in calendar.items():
        result[key] = value
    names = dict.fromkeys(c.name for c in calendar.subcomponents if c.name in _EXPANDED)
    for name in names:
        found = instances(calendar, name, window, floating_tz, bounds)
        if found.exceeded:
            return calendar
        for instance, origin in found:
            view = instance_view(instance, origin)
            if overlaps(view, window, floating_tz):
                result.add_component(_standalone(view, instance, floating_tz))
    return result


def _standalone(view: Component, instance: Component, tz: tzinfo) -> Component:
    out = view.copy()
    out.subcomponents = list(view.subcomponents)
    if "RECURRENCE-ID" in instance:
        out["RECURRENCE-ID"] = instance["RECURRENCE-ID"]
    for name in _RECURRENCE_PROPS:
        out.pop(name, None)
    for key in list(out.keys()):
        prop = out[key]
        if isinstance(prop, vDDDTypes) and isinstance(prop.dt, datetime):
            params = {k: v for k, v in prop.params.items() if k != "TZID"}
            del out[key]
            out.add(key, as_utc(prop.dt, tz), parameters=params)
    return out


def free_busy(
    calendars: Iterable[Calendar],
    start: datetime,
    end: datetime,
    floating_tz: tzinfo = UTC,
    now: datetime | None = None,
    bounds: Bounds | None = None,
) -> bytes:
    """A VCALENDAR with one VFREEBUSY for [start, end) (RFC 4791 §7.10): busy time of opaque, non-cancelled
    events (TENTATIVE ones as BUSY-TENTATIVE), recurrences expanded, and of stored VFREEBUSY periods; periods
    merged, in UTC, clipped to the range. A series too costly to expand makes the whole range busy."""
    window = TimeRange(start, end)
    periods = [p for calendar in calendars for p in busy_periods(standardized(calendar), window, floating_tz, bounds)]
    answer = FreeBusy()
    answer.add("UID", str(uuid.uuid4()))
    answer.add("DTSTAMP", (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0))
    answer.add("DTSTART", start.astimezone(UTC))
    answer.add("DTEND", end.astimezone(UTC))
    for begin, stop, kind in merge_periods(periods):
        answer.add("FREEBUSY", (begin, stop), parameters={"FBTYPE": kind})
    calendar = Calendar()
    calendar.add("VERSION", "2.0")
    calendar.add("PRODID", PRODID)
    calendar.add_component(answer)
    return calendar.to_ical()


def busy_periods(
    calendar: Calendar, window: TimeRange, tz: tzinfo = UTC, bounds: Bounds | None = None
) -> Iterator[Period]:
    """The busy stretches one calendar object contributes to the window, clipped to it, not yet merged."""
    found = instances(calendar, "VEVENT", window, tz, bounds)
    if found.exceeded:
        # Which instances fall in the range is unknown: the whole range is busy (the safe answer), as
        # strong as the series' own busy type, unless the series takes no time at all.
        kinds = [kind for kind in map(_busy_type, (c for c, _ in found)) if kind]
        if kinds:
            yield from _clipped(window.lo, window.hi, max(kinds, key=BUSY_PRIORITY.__getitem__), window)
        found.pairs = []
    for instance, origin in found:
        event = instance_view(instance, origin)
        kind, bounds = _busy_type(event), event_bounds(event, tz)
        if kind and bounds and overlaps(event, window, tz):
            yield from _clipped(*bounds, kind, window)
    for component in calendar.subcomponents:
        if component.name == "VFREEBUSY":
            for begin, stop, kind in freebusy_periods(component, tz):
                if kind != "FREE":
                    yield from _clipped(begin, stop, kind if kind in BUSY_PRIORITY else "BUSY", window)


def _busy_type(event: Component) -> str | None:
    """The §7.10 table: TRANSP:TRANSPARENT and STATUS:CANCELLED are free time."""
    if str(event.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT":
        return None
    status = str(event.get("STATUS", "CONFIRMED")).upper()
    if status == "CANCELLED":
        return None
    return "BUSY-TENTATIVE" if status == "TENTATIVE" else "BUSY"


def _clipped(begin: datetime, stop: datetime, kind: str, window: TimeRange) -> Iterator[Period]:
    begin, stop = max(begin, window.lo), min(stop, window.hi)
    if begin < stop:
        yield begin, stop, kind


def merge_periods(periods: Iterable[Period]) -> list[Period]:
    """Sorted, non-overlapping periods: overlapping or touching ones of a kind joined, and where kinds
    overlap the stronger one (:data:`BUSY_PRIORITY`) wins that stretch. A sweep over the edges."""
    edges = sorted((t, step, kind) for begin, stop, kind in periods for t, step in ((begin, 1), (stop, -1)))
    active: Counter[str] = Counter()
    merged: list[Period] = []
    since, current = None, None
    for moment, group in groupby(edges, key=lambda edge: edge[0]):
        if current is not None and since < moment:
            if merged and merged[-1][1] == since and merged[-1][2] == current:
                merged[-1] = (merged[-1][0], moment, current)
            else:
                merged.append((since, moment, current))
        for _, step, kind in group:
            active[kind] += step
        current = max((k for k, n in active.items() if n > 0), key=BUSY_PRIORITY.__getitem__, default=None)
        since = moment
    return merged
