"""calendar-query filters (RFC 4791 §7.8, §9.7): parse the CALDAV:filter element, test a calendar object.

Pure code: the protocol layer hands in an ``xml.etree`` element (parsed by defusedxml) and a parsed
``icalendar.Calendar``, and gets back frozen dataclasses and booleans. A bad filter raises :class:`QueryError`
naming the precondition the error body must carry. Time semantics (the §9.9 tables, recurrence) live in
:mod:`feeds.dav.timerange`; ``expand`` and ``free_busy`` in :mod:`feeds.dav.freebusy`, stored spans in
:mod:`feeds.dav.spans`; the protocol layer needs only this module, which re-exports them.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import TypeVar
from xml.etree.ElementTree import Element

from icalendar import Component
from icalendar.prop import vCategory

from feeds.dav.freebusy import expand, free_busy
from feeds.dav.spans import candidate_range, component_span, object_span
from feeds.dav.timerange import (
    TIME_RANGE_COMPONENTS,
    Bounds,
    TimeRange,
    alarm_times,
    calendar_zone,
    instance_view,
    instances,
    overlaps,
    property_overlaps,
    standardized,
)

T = TypeVar("T")

__all__ = [
    "Bounds", "CompFilter", "ParamFilter", "PropFilter", "QueryError", "TextMatch", "TimeRange", "calendar_zone",
    "candidate_range", "component_name", "expand", "free_busy", "is_component_only", "matches", "object_span",
    "parse_filter", "parse_time", "parse_time_range", "plain_event_range", "prefilter_range",
]  # fmt: skip

CALDAV_NS = "urn:ietf:params:xml:ns:caldav"
DEFAULT_COLLATION = "i;ascii-casemap"
COLLATIONS = ("i;ascii-casemap", "i;octet", "i;unicode-casemap")
# The component types a calendar object resource is stored as (its `component` column).
STORED_TYPES = ("VEVENT", "VTODO", "VJOURNAL", "VFREEBUSY")
_TIME = re.compile(r"(\d{8})T(\d{6})(Z?)")


class QueryError(ValueError):
    """A filter the server must refuse; ``condition`` is the CALDAV precondition element for the 403 body."""

    def __init__(self, condition: str, message: str) -> None:
        super().__init__(message)
        self.condition = condition


@dataclass(frozen=True)
class TextMatch:
    text: str
    collation: str = DEFAULT_COLLATION
    negate: bool = False

    def matches(self, value: str) -> bool:
        """Substring match under the collation (RFC 4791 §9.7.5), inverted by negate-condition."""
        return (_fold(self.text, self.collation) in _fold(value, self.collation)) != self.negate


@dataclass(frozen=True)
class ParamFilter:
    name: str
    is_not_defined: bool = False
    text_match: TextMatch | None = None


@dataclass(frozen=True)
class PropFilter:
    name: str
    is_not_defined: bool = False
    time_range: TimeRange | None = None
    text_match: TextMatch | None = None
    param_filters: tuple[ParamFilter, ...] = ()


@dataclass(frozen=True)
class CompFilter:
    name: str
    is_not_defined: bool = False
    time_range: TimeRange | None = None
    prop_filters: tuple[PropFilter, ...] = ()
    comp_filters: tuple[CompFilter, ...] = ()


# --- parsing ------------------------------------------------------------------------------------------------


def parse_filter(element: Element) -> CompFilter:
    """The CALDAV:filter element as a tree of dataclasses; its one comp-filter must be VCALENDAR."""
    children = _children(element)
    if len(children) != 1 or _local(children[0]) != "comp-filter":
        raise QueryError("valid-filter", "A filter holds exactly one comp-filter.")
    top = _comp_filter(children[0])
    if top.name != "VCALENDAR":
        raise QueryError("valid-filter", "The outermost comp-filter must name VCALENDAR.")
    return top


def parse_time(value: str) -> datetime:
    """A time-range or expand bound, ``20060104T000000Z``; without the Z it is still read as UTC (as sabre/dav)."""
    found = _TIME.fullmatch(value.strip())
    try:
        if found is None:
            raise ValueError(value)
        return datetime.strptime(found[1] + found[2], "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        raise QueryError("valid-filter", f"{value!r} is not a UTC date-time like 20060104T000000Z.") from None


def parse_time_range(element: Element) -> TimeRange:
    """A CALDAV:time-range: at least one of start and end (RFC 4791 §9.9), and not ending before it starts."""
    start, end = element.get("start"), element.get("end")
    if start is None and end is None:
        raise QueryError("valid-filter", "A time-range needs a start or an end.")
    time_range = TimeRange(parse_time(start) if start else None, parse_time(end) if end else None)
    if time_range.lo > time_range.hi:
        raise QueryError("valid-filter", "A time-range must not end before it starts.")
    return time_range


def _children(element: Element) -> list[Element]:
    """The CALDAV children; elements of other namespaces are extensions and ignored (RFC 4918 §17)."""
    return [c for c in element if isinstance(c.tag, str) and c.tag.startswith("{" + CALDAV_NS + "}")]


def _local(element: Element) -> str:
    return element.tag.rsplit("}", 1)[-1]


def _name(element: Element) -> str:
    name = (element.get("name") or "").strip().upper()
    if not name:
        raise QueryError("valid-filter", f"A {_local(element)} needs a name attribute.")
    return name


def _split(element: Element, allowed: tuple[str, ...]) -> tuple[bool, dict[str, list[Element]]]:
    """(is-not-defined?, the other children by local name), refusing what the DTD does not allow there."""
    parts: dict[str, list[Element]] = {}
    for child in _children(element):
        local = _local(child)
        if local == "is-defined":  # Apple's pre-RFC draft spelling of the default
            continue
        if local != "is-not-defined" and local not in allowed:
            raise QueryError("valid-filter", f"{local} is not allowed in {_local(element)}.")
        parts.setdefault(local, []).append(child)
    negated = "is-not-defined" in parts
    if negated and len(parts) > 1:
        raise QueryError("valid-filter", f"is-not-defined stands alone in {_local(element)}.")
    if len(parts.get("time-range", [])) > 1 or len(parts.get("text-match", [])) > 1:
        raise QueryError("valid-filter", f"At most one time-range or text-match in {_local(element)}.")
    return negated, parts


def _comp_filter(element: Element) -> CompFilter:
    name = _name(element)
    negated, parts = _split(element, ("time-range", "prop-filter", "comp-filter"))
    time_range = _one(parts, "time-range", parse_time_range)
    # A time-range right under VCALENDAR is outside RFC 4791 section 9.7, but clients send it
    # (python-caldav without a component type) and Radicale answers it: "any component overlaps".
    if time_range is not None and name not in TIME_RANGE_COMPONENTS and name != "VCALENDAR":
        raise QueryError("supported-filter", f"A time-range does not apply to {name}.")
    return CompFilter(
        name,
        negated,
        time_range,
        tuple(_prop_filter(p) for p in parts.get("prop-filter", [])),
        tuple(_comp_filter(c) for c in parts.get("comp-filter", [])),
    )


def _prop_filter(element: Element) -> PropFilter:
    name = _name(element)
    negated, parts = _split(element, ("time-range", "text-match", "param-filter"))
    if "time-range" in parts and "text-match" in parts:
        raise QueryError("valid-filter", "A prop-filter takes a time-range or a text-match, not both.")
    return PropFilter(
        name,
        negated,
        _one(parts, "time-range", parse_time_range),
        _one(parts, "text-match", _text_match),
        tuple(_param_filter(p) for p in parts.get("param-filter", [])),
    )


def _param_filter(element: Element) -> ParamFilter:
    negated, parts = _split(element, ("text-match",))
    return ParamFilter(_name(element), negated, _one(parts, "text-match", _text_match))


def _one(parts: dict[str, list[Element]], local: str, parse: Callable[[Element], T]) -> T | None:
    return parse(parts[local][0]) if local in parts else None


def _text_match(element: Element) -> TextMatch:
    collation = element.get("collation", DEFAULT_COLLATION)
    if collation not in COLLATIONS:
        raise QueryError("supported-collation", f"The collation {collation!r} is not supported.")
    negate = element.get("negate-condition", "no")
    if negate not in ("yes", "no"):
        raise QueryError("valid-filter", "negate-condition is yes or no.")
    return TextMatch(element.text or "", collation, negate == "yes")


_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def _fold(text: str, collation: str) -> str:
    """i;octet compares as is, i;ascii-casemap folds A-Z only (RFC 4790), i;unicode-casemap titlecases each
    character by its simple mapping and decomposes with NFKD (RFC 5051)."""
    if collation == "i;octet":
        return text
    if collation == "i;ascii-casemap":
        return text.translate(_ASCII_LOWER)
    return unicodedata.normalize("NFKD", "".join(_title(ch) for ch in text))


def _title(ch: str) -> str:
    titled = ch.title()
    return titled if len(titled) == 1 else ch


# --- matching -----------------------------------------------------------------------------------------------


def matches(filter: CompFilter, calendar: Component, floating_tz: tzinfo = UTC, bounds: Bounds | None = None) -> bool:
    """Whether the calendar object resource passes the filter (RFC 4791 §9.7).

    A comp-filter matches if some component of its name passes its time-range, prop-filters and nested
    comp-filters together; for a recurrence set with a time-range that is some instance (overrides and
    EXDATE honoured). A plain component is tested as stored, without any expansion. A recurrence set too
    costly to expand (see :func:`feeds.dav.timerange.instances`) meets every time-range of its comp-filter
    and is judged on its stored components otherwise; the bound it hit is noted in ``bounds.hits``.
    """
    if filter.is_not_defined or calendar.name != filter.name:
        return False
    calendar = standardized(calendar)
    bounds = bounds or Bounds()
    if filter.time_range is not None and not any(
        _comp_holds(calendar, CompFilter(kind, time_range=filter.time_range), floating_tz, bounds)
        for kind in STORED_TYPES
    ):
        return False
    return _holds(calendar, filter, floating_tz, bounds)


def _holds(component: Component, cf: CompFilter, tz: tzinfo, bounds: Bounds) -> bool:
    return all(_prop_holds(component, pf, tz) for pf in cf.prop_filters) and all(
        _comp_holds(component, sub, tz, bounds) for sub in cf.comp_filters
    )


def _comp_holds(parent: Component, cf: CompFilter, tz: tzinfo, bounds: Bounds) -> bool:
    if cf.is_not_defined:
        return not any(c.name == cf.name for c in parent.subcomponents)
    candidates, unexpanded = _candidates(parent, cf, tz, bounds)
    return any(
        (cf.time_range is None or unexpanded or overlaps(candidate, cf.time_range, tz, parent))
        and _holds(candidate, cf, tz, bounds)
        for candidate in candidates
    )


def _candidates(parent: Component, cf: CompFilter, tz: tzinfo, bounds: Bounds) -> tuple[Iterable[Component], bool]:
    """The components to test, and whether they stand unexpanded for a series too costly to expand."""
    if parent.name != "VCALENDAR":
        return (c for c in parent.subcomponents if c.name == cf.name), False
    window = _expansion_window(parent, cf, tz)
    found = instances(parent, cf.name, window, tz, bounds)
    return (instance_view(instance, origin) for instance, origin in found), bool(found.exceeded)


def _expansion_window(calendar: Component, cf: CompFilter, tz: tzinfo) -> TimeRange | None:
    """Which instances a time-range can see: its own, or an alarm's widened by how far alarms fire from their
    instance. None: the filter has no time-range, so the stored components are judged as they are."""
    if cf.time_range is not None:
        return cf.time_range
    alarm_ranges = [sub.time_range for sub in cf.comp_filters if sub.time_range is not None]
    if not alarm_ranges:
        return None
    reach = _alarm_reach([c for c in calendar.subcomponents if c.name == cf.name], tz)
    if reach is None:
        return TimeRange()
    starts, ends = [r.start for r in alarm_ranges], [r.end for r in alarm_ranges]
    known_starts = [start for start in starts if start is not None]
    known_ends = [end for end in ends if end is not None]
    widest = TimeRange(
        min(known_starts) if len(known_starts) == len(starts) else None,
        max(known_ends) if len(known_ends) == len(ends) else None,
    )
    return widest.widened(reach, reach)


def _alarm_reach(stored: list[Component], tz: tzinfo) -> timedelta | None:
    """How far from an instance's start its alarms may fire; None when an absolute TRIGGER makes it unbounded."""
    reach = timedelta(0)
    for component in stored:
        start, end = component_span(component, tz)
        length = end - start if start is not None and end is not None else timedelta(0)
        for alarm in component.walk("VALARM"):
            if not isinstance(getattr(alarm.get("TRIGGER"), "dt", None), timedelta):
                return None
            if start is not None:
                reach = max([reach, *(abs(t - start) + length for t in alarm_times(alarm, component, tz))])
    return reach


def _prop_holds(component: Component, pf: PropFilter, tz: tzinfo) -> bool:
    found = component.get(pf.name)
    props = [] if found is None else found if isinstance(found, list) else [found]
    if pf.is_not_defined:
        return not props
    return any(_one_prop_holds(prop, pf, tz) for prop in props)


def _one_prop_holds(prop: object, pf: PropFilter, tz: tzinfo) -> bool:
    """One instance of the property passes the time-range or text-match and all param-filters (§9.7.2)."""
    if pf.time_range is not None and not property_overlaps(prop, pf.time_range, tz):
        return False
    if pf.text_match is not None and not pf.text_match.matches(_text(prop)):
        return False
    return all(_param_holds(prop, f) for f in pf.param_filters)


def _param_holds(prop: object, pf: ParamFilter) -> bool:
    value = getattr(prop, "params", {}).get(pf.name)
    if pf.is_not_defined or value is None:
        return pf.is_not_defined and value is None
    text = ",".join(map(str, value)) if isinstance(value, list) else str(value)
    return pf.text_match is None or pf.text_match.matches(text)


def _text(prop: object) -> str:
    """The property's value as a client reads it: unescaped text, CATEGORIES joined by commas, else iCalendar."""
    if isinstance(prop, vCategory):
        return ",".join(map(str, prop.cats))
    if isinstance(prop, str):
        return str(prop)
    to_ical = getattr(prop, "to_ical", None)
    return to_ical().decode("utf-8", "replace") if to_ical else str(prop)


# --- narrowing the database query ---------------------------------------------------------------------------


def component_name(filter: CompFilter) -> str | None:
    """The stored component type every match must have, or None if the filter does not pin one."""
    names = {c.name for c in filter.comp_filters if not c.is_not_defined}
    return names.pop() if len(names) == 1 and names <= set(STORED_TYPES) else None


def is_component_only(filter: CompFilter) -> bool:
    """True when the filter asks no more than "a VCALENDAR (with a VEVENT, say)": the database's component
    column already answers it, so nothing needs parsing."""
    if filter.is_not_defined or filter.time_range or filter.prop_filters or len(filter.comp_filters) > 1:
        return False
    if not filter.comp_filters:
        return True
    child = filter.comp_filters[0]
    plain = not (child.is_not_defined or child.time_range or child.prop_filters or child.comp_filters)
    return plain and child.name in STORED_TYPES


def plain_event_range(filter: CompFilter) -> TimeRange | None:
    """The time-range of a filter asking only "a VEVENT overlapping this range", else None.

    For such a filter an event whose stored span lies inside the range (narrowed by the floating-time
    slack) matches without being parsed: every one of its instances is in the range."""
    if filter.is_not_defined or filter.time_range or filter.prop_filters or len(filter.comp_filters) != 1:
        return None
    child = filter.comp_filters[0]
    if child.name != "VEVENT" or child.is_not_defined or child.prop_filters or child.comp_filters:
        return None
    return child.time_range


def prefilter_range(filter: CompFilter) -> tuple[datetime | None, datetime | None] | None:
    """The time range every match overlaps, already widened by :func:`candidate_range`; None if unknown."""
    if filter.time_range is not None:
        return candidate_range(filter.time_range.start, filter.time_range.end)
    for child in filter.comp_filters:
        if child.time_range is not None:
            return candidate_range(child.time_range.start, child.time_range.end)
    return None
