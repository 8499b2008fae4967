"""The one bounded recurrence expander: every RRULE/RDATE set calsync expands goes through here.

An unbounded expansion is a denial of service waiting for a calendar: one ``RRULE:FREQ=SECONDLY``
without an end asks for 34 million instances a year (and recurring-ical-events keeps every
instance dateutil walks past in a cache), a ``FREQ=MINUTELY`` series from years ago walks millions
of periods before reaching today, and a rule whose filters stop matching walks to the year 9999
looking for its next instance. So every expansion is bounded three ways, by :class:`Limits` the
caller passes (apps take them from settings through ``calsync.limits``):

- **steps**: the periods dateutil must walk from DTSTART to the end of the window, estimated from
  FREQ, INTERVAL, COUNT, UNTIL and the BYxxx parts *before* anything is expanded; a dearer rule is
  not expanded at all. dateutil checks UNTIL and COUNT only on an instance it found, so a rule
  whose filters can never match (``BYMONTH=2;BYMONTHDAY=30``) would walk to the year 9999: such a
  rule is recognised first and yields only its DTSTART.
- **instances**: no more than ``max_instances`` instances are produced.
- **time**: a wall-clock budget, checked between the slices the window is fetched in.

An expansion that hits a bound says so (:attr:`Expansion.exceeded`, with a sentence for the log)
and what it holds is then *not* the whole answer. What to do about it is the caller's decision:
booking counts the artist busy for the whole window; the CalDAV server and the feeds hand the
object on as stored (see ``feeds.dav.timerange`` and ``feeds.render``). The caller knows the
object's href and logs it. Data that cannot be expanded at all raises :class:`RecurrenceError`.

Pure: no Django, no I/O.
"""

from __future__ import annotations

import calendar as gregorian
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import recurring_ical_events
from dateutil.rrule import rrulestr
from icalendar import Calendar, Component
from icalendar.prop import vRecur

STEPS, INSTANCES, TIME = "steps", "instances", "time"
# Property values of an ordinary event; a bigger master makes each instance copy dearer.
_ORDINARY_SIZE = 50
_PERIOD_SECONDS = {
    "SECONDLY": 1, "MINUTELY": 60, "HOURLY": 3600, "DAILY": 86400, "WEEKLY": 7 * 86400,
    "MONTHLY": 28 * 86400, "YEARLY": 365 * 86400,
}  # fmt: skip
_RANK = {name: rank for rank, name in enumerate(_PERIOD_SECONDS)}
# RFC 5545 section 3.3.10: a BYxxx part expands the set from this FREQ rank up, and limits it below.
_EXPANDS_FROM = {
    "BYSECOND": 1, "BYMINUTE": 2, "BYHOUR": 3, "BYDAY": 4, "BYMONTHDAY": 5, "BYYEARDAY": 6, "BYWEEKNO": 6,
    "BYMONTH": 6,
}  # fmt: skip
# recurring-ical-events and dateutil raise many unrelated types on bad rules.
_BAD_DATA = (ValueError, TypeError, KeyError, AttributeError, OverflowError, IndexError)


@dataclass(frozen=True, slots=True)
class Limits:
    max_instances: int = 5000
    max_steps: int = 100_000
    max_seconds: float = 2.0


DEFAULT_LIMITS = Limits()


class RecurrenceError(ValueError):
    """The data holds a recurrence that cannot be expanded (a malformed rule, say)."""


@dataclass(slots=True)
class Expansion:
    """Instances overlapping the window in start order; ``exceeded`` names the bound hit, if any."""

    instances: list[Component] = field(default_factory=list)
    exceeded: str = ""  # "" (complete), STEPS, INSTANCES or TIME
    detail: str = ""  # a sentence for the log line

    @property
    def complete(self) -> bool:
        return not self.exceeded


def expand(
    calendar: Component,
    start: datetime,
    end: datetime,
    *,
    components: Sequence[str] = ("VEVENT",),
    limits: Limits = DEFAULT_LIMITS,
    keep_recurrence_attributes: bool = False,
    first_only: bool = False,
    clock: Callable[[], float] = time.monotonic,
) -> Expansion:
    """Instances of ``components`` overlapping ``[start, end]`` (aware datetimes), within ``limits``.

    Overrides (RECURRENCE-ID), EXDATE and RDATE are honoured by recurring-ical-events; this module
    only decides whether and how far it may walk. ``first_only`` stops at the earliest instance.
    """
    deadline = clock() + limits.max_seconds
    masters = [c for c in calendar.subcomponents if c.name in components and is_master(c)]
    try:
        cost = sum(walk_cost(master, end) for master in masters)
        density = sum(_density(master) for master in masters)
    except _BAD_DATA as exc:
        raise RecurrenceError(f"unreadable recurrence rule: {exc}") from exc
    if cost > limits.max_steps:
        detail = f"its rules need about {cost:,} steps to reach the window (limit {limits.max_steps:,})"
        return Expansion([], STEPS, detail)
    # Every instance is a copy of its master: one with 3,000 EXDATEs costs as much as 60 ordinary
    # ones, so the instance limit is counted in ordinary-sized copies.
    size = max((_size(master) for master in masters), default=0)
    most = max(1, int(limits.max_instances * min(1.0, _ORDINARY_SIZE / max(size, 1))))
    query = recurring_ical_events.of(
        _without_dead_rules(calendar, masters, start.date()),
        components=list(components),
        keep_recurrence_attributes=keep_recurrence_attributes,
    )
    # Fetch the window in slices: a day first, doubling while they come back sparse, never more than
    # about half the instance limit by the rules' density, so that a dense rule never makes
    # recurring-ical-events build more components than it may return.
    widest = end - start
    if density:
        widest = min(widest, max(timedelta(seconds=1), timedelta(seconds=most / 2 / density)))
    step = min(widest, timedelta(days=1)) if masters else widest
    found: list[Component] = []
    seen: set[tuple[str, str, Any]] = set()
    low = start
    while low < end:
        high = _plus(low, step, end)
        try:
            batch = query.between(low, high)
        except _BAD_DATA as exc:
            raise RecurrenceError(f"cannot expand the recurrence: {exc}") from exc
        fresh = sorted((c for c in batch if _key(c) not in seen), key=_start_key)
        for instance in fresh:
            seen.add(_key(instance))
            found.append(instance)
            if first_only:
                return Expansion(found)
            if len(found) > most:
                detail = f"more than {most:,} instances" + (
                    f" of a {size:,}-property component" if most < limits.max_instances else ""
                )
                return Expansion(found[:most], INSTANCES, detail)
        if high < end and clock() > deadline:
            return Expansion(found, TIME, f"expanding took longer than {limits.max_seconds:g} s")
        if len(fresh) < most / 8:
            step = min(step * 2, widest)  # sparse here: larger slices, fewer calls
        low = high
    return Expansion(found)


def occurs(
    calendar: Component,
    start: datetime,
    end: datetime,
    *,
    components: Sequence[str] = ("VEVENT",),
    limits: Limits = DEFAULT_LIMITS,
) -> Expansion:
    """The earliest instance overlapping ``[start, end]``, if any (``instances`` holds at most one)."""
    return expand(calendar, start, end, components=components, limits=limits, first_only=True)


def _size(component: Component) -> int:
    """Property values in the component and its subcomponents (a multi-valued EXDATE counts each)."""
    total = 0
    for part in component.walk():
        for _name, value in part.property_items(recursive=False):
            total += len(getattr(value, "dts", None) or [None])
    return total


def is_master(component: Component) -> bool:
    return ("RRULE" in component or "RDATE" in component) and "RECURRENCE-ID" not in component


# --- what a rule costs, estimated before expanding it ----------------------------------------


def walk_cost(master: Component, until: datetime) -> int:
    """About how many instances dateutil builds from DTSTART until ``until`` (an upper bound)."""
    start = _dtstart(master)
    cost = len(_list_values(master, "RDATE"))
    for rule in _rules(master):
        freq, per_period, limited = _shape(rule)
        period = timedelta(seconds=_PERIOD_SECONDS[freq] * _interval(rule))
        stop = until
        if rule.get("UNTIL"):
            stop = min(stop, utc(rule["UNTIL"][0]))
        periods = max(0, int((stop - start) / period)) + 1
        steps = periods * per_period
        if rule.get("COUNT") and not limited:
            # Without limiting filters every step is an instance, so COUNT ends the walk.
            steps = min(steps, int(rule["COUNT"][0]))
        cost += steps
    return cost


def _density(master: Component) -> float:
    """Instances per second the rules can produce at most."""
    total = 0.0
    for rule in _rules(master):
        freq, per_period, _ = _shape(rule)
        total += per_period / (_PERIOD_SECONDS[freq] * _interval(rule))
    return total


def _shape(rule: vRecur) -> tuple[str, int, bool]:
    """(FREQ, the most instances one period can hold, whether some BYxxx part limits the set)."""
    freq = str(rule.get("FREQ", [""])[0]).upper()
    if freq not in _RANK:
        raise ValueError(f"unknown FREQ {freq!r}")
    rank = _RANK[freq]
    count = {part: len(rule.get(part) or ()) for part in _EXPANDS_FROM}
    factor = 1
    for part in ("BYSECOND", "BYMINUTE", "BYHOUR"):
        if rank >= _EXPANDS_FROM[part] and count[part]:
            factor *= count[part]
    factor *= _days_per_period(rank, count)
    limited = "BYSETPOS" in rule or any(n and rank < _EXPANDS_FROM[part] for part, n in count.items())
    # dateutil never yields two instances in one second.
    return freq, max(1, min(factor, _PERIOD_SECONDS[freq] * _interval(rule))), limited


def _days_per_period(rank: int, count: dict[str, int]) -> int:
    months = count["BYMONTH"] or 12
    if rank == _RANK["WEEKLY"]:
        return count["BYDAY"] or 1
    if rank == _RANK["MONTHLY"]:
        return min(31, count["BYMONTHDAY"] or 5 * count["BYDAY"] or 1)
    if rank != _RANK["YEARLY"]:
        return 1
    if count["BYYEARDAY"]:
        days = count["BYYEARDAY"]
    elif count["BYWEEKNO"]:
        days = 7 * count["BYWEEKNO"]
    elif count["BYMONTHDAY"]:
        days = count["BYMONTHDAY"] * months
    elif count["BYDAY"]:
        days = 5 * count["BYDAY"] * months
    else:
        days = count["BYMONTH"] or 1
    return min(days, 366)


def _interval(rule: vRecur) -> int:
    return max(1, int(rule.get("INTERVAL", [1])[0]))


def _rules(component: Component) -> list[vRecur]:
    rules = component.get("RRULE", [])
    return list(rules) if isinstance(rules, list) else [rules]


def _list_values(component: Component, name: str) -> list[Any]:
    props = component.get(name, [])
    return [item.dt for prop in (props if isinstance(props, list) else [props]) for item in prop.dts]


def _dtstart(component: Component) -> datetime:
    prop = component.get("DTSTART") or component.get("DUE")
    if prop is None:
        raise ValueError("a recurring component without DTSTART")
    return utc(prop.dt)


def utc(value: date | datetime) -> datetime:
    """A DATE or DATE-TIME as an aware UTC instant (floating and dates read as UTC: for estimates)."""
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


# --- capping and slicing ---------------------------------------------------------------------


def _without_dead_rules(calendar: Component, masters: Iterable[Component], after: date) -> Component:
    """The calendar, or a copy without the rules that can never match (the caller's is untouched)."""
    chosen = {id(master) for master in masters}
    if not chosen:
        return calendar
    copy = Calendar()
    for key, value in calendar.items():
        copy[key] = value
    copy.subcomponents = [_live_master(c, after) if id(c) in chosen else c for c in calendar.subcomponents]
    return copy


def _live_master(master: Component, after: date) -> Component:
    rules = _rules(master)
    kept = [rule for rule in rules if not _never_matches(rule, after)]
    if len(kept) == len(rules):
        return master
    out = master.copy()
    out.subcomponents = master.subcomponents
    del out["RRULE"]
    if kept:
        out["RRULE"] = kept if len(kept) > 1 else kept[0]
    return out


_WEEKDAYS = {"MO": 0, "TU": 1, "WE": 2, "TH": 3, "FR": 4, "SA": 5, "SU": 6}
_GREGORIAN_CYCLE_DAYS = 146_097  # the calendar (dates and weekdays) repeats every 400 years


def _never_matches(rule: vRecur, after: date) -> bool:
    """Whether no day from ``after`` on can satisfy the rule's day-level BYxxx parts (the rule then
    yields nothing but DTSTART, and dateutil would look for its next instance until the year 9999).

    A necessary condition only (BYDAY ordinals and BYSETPOS are ignored, so it never calls a
    possible rule impossible); the first 400 years decide, as the Gregorian calendar then repeats.
    """
    months = {int(v) for v in rule.get("BYMONTH") or ()}
    monthdays = {int(v) for v in rule.get("BYMONTHDAY") or ()}
    yeardays = {int(v) for v in rule.get("BYYEARDAY") or ()}
    weekdays = {_WEEKDAYS.get(str(v)[-2:].upper(), -1) for v in rule.get("BYDAY") or ()}
    if not (months or monthdays or yeardays or weekdays):
        return False
    day = after
    try:
        for _ in range(_GREGORIAN_CYCLE_DAYS):
            if _day_matches(day, months, monthdays, yeardays, weekdays):
                return False
            day += timedelta(days=1)
    except OverflowError:
        return False  # the year 9999 is near: dateutil stops there by itself
    return True


def _day_matches(day: date, months: set[int], monthdays: set[int], yeardays: set[int], weekdays: set[int]) -> bool:
    if months and day.month not in months:
        return False
    if weekdays and day.weekday() not in weekdays:
        return False
    if monthdays:
        length = gregorian.monthrange(day.year, day.month)[1]
        if day.day not in monthdays and day.day - length - 1 not in monthdays:
            return False
    if yeardays:
        ordinal = day.timetuple().tm_yday
        length = 366 if gregorian.isleap(day.year) else 365
        if ordinal not in yeardays and ordinal - length - 1 not in yeardays:
            return False
    return True


def _plus(value: datetime, step: timedelta, ceiling: datetime) -> datetime:
    try:
        return min(value + step, ceiling)
    except OverflowError:
        return ceiling


def _when(component: Component, name: str) -> Any:
    prop = component.get(name)
    return getattr(prop, "dt", None)


def _key(component: Component) -> tuple[str, str, Any]:
    when = _when(component, "RECURRENCE-ID") or _when(component, "DTSTART") or _when(component, "DUE")
    return str(component.name), str(component.get("UID", "")), when


def _start_key(component: Component) -> datetime:
    when = _when(component, "DTSTART") or _when(component, "DUE")
    return utc(when) if isinstance(when, date) else datetime.min.replace(tzinfo=UTC)


# --- one rule's COUNTth instance (stored spans) ----------------------------------------------


def counted_last_start(rule: vRecur, wall_start: datetime, *, limits: Limits = DEFAULT_LIMITS) -> datetime | None:
    """The COUNTth start of a COUNT rule on wall-clock time (as RFC 5545 counts), or None when that
    needs more than ``limits.max_steps`` steps (a huge COUNT, or filters that rarely match)."""
    count = int(rule["COUNT"][0])
    _, per_period, limited = _shape(rule)
    if count > limits.max_steps:
        return None
    rrule = rrulestr(rule.to_ical().decode(), dtstart=wall_start, cache=False)  # type: ignore[no-untyped-call]
    if limited and _never_matches(rule, wall_start.date()):
        return wall_start  # only DTSTART: dateutil would search for a second instance until 9999
    last, seen = None, 0
    for last in rrule:  # noqa: B007 (the last one is the answer)
        seen += 1
        if seen * per_period > limits.max_steps:
            return None
    return last if seen == count else None
