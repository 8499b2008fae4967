"""Pure ICS work for feeds: merge calendar objects into one VCALENDAR, and tell current events
from past ones by their occurrences. No ORM, no HTTP.

Rendering keeps what subscribers need: each referenced VTIMEZONE exactly once, recurrence
overrides beside their master, VTODOs when asked, every X- property. ``METHOD`` is dropped
(a subscription is not an iTIP message).

Rendering copies objects as stored and never expands them; only telling current from past events
(``sync_all=False``, here and in ICS imports) expands, through the one bounded expander
(:mod:`calsync.lib.recurrence`). A series too costly to expand (a ``FREQ=SECONDLY`` rule, say)
counts as current: it is published or imported as stored, and the subscriber's calendar, which
expands lazily for what it shows, decides; dropping a live series silently would be worse. The
bound it hit is noted in ``hits`` (its UID and what happened) for the caller to log.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from icalendar import Calendar, Component

from calsync.lib.current import is_current
from calsync.lib.recurrence import DEFAULT_LIMITS, Limits

__all__ = ["ITEM_KINDS", "PRODID", "Rendered", "is_current", "render_feed"]

PRODID = "-//calsync//ICS feed//EN"
ITEM_KINDS = ("VEVENT", "VTODO", "VJOURNAL")


@dataclass(frozen=True, slots=True)
class Rendered:
    data: bytes
    events: int  # VEVENT/VTODO/VJOURNAL objects by UID (a series with overrides counts once)


def render_feed(
    objects: Iterable[bytes],
    *,
    name: str = "",
    include_todos: bool = True,
    sync_all: bool = True,
    now: dt.datetime | None = None,
    limits: Limits = DEFAULT_LIMITS,
    hits: list[tuple[str, str]] | None = None,
) -> Rendered:
    """One VCALENDAR from standalone calendar objects (each one UID with its overrides)."""
    now = now or dt.datetime.now(dt.UTC)
    merged = Calendar()
    merged.add("PRODID", PRODID)
    merged.add("VERSION", "2.0")
    merged.add("CALSCALE", "GREGORIAN")
    if name:
        merged.add("X-WR-CALNAME", name)
    zones: dict[str, Component] = {}
    items: list[Component] = []
    uids: set[str] = set()
    for data in objects:
        calendar = Calendar.from_ical(data)
        components = [c for c in calendar.subcomponents if c.name in ITEM_KINDS]
        if not include_todos:
            components = [c for c in components if c.name != "VTODO"]
        if not components:
            continue
        if not sync_all and not is_current(data, now, limits=limits, hits=hits):
            continue
        for zone in calendar.walk("VTIMEZONE"):
            zones.setdefault(str(zone.get("TZID")), zone)
        items += components
        uids.update(str(c.get("UID", "")) for c in components)
    referenced = _referenced_zones(items)
    for tzid in sorted(referenced):
        if tzid in zones:
            merged.add_component(zones[tzid])
    for component in items:
        merged.add_component(component)
    return Rendered(merged.to_ical(), len(uids))


def _referenced_zones(components: Iterable[Component]) -> set[str]:
    found: set[str] = set()
    for component in components:
        for sub in component.walk():
            for _name, value in sub.property_items(recursive=False):
                params = getattr(value, "params", None)
                if params and "TZID" in params:
                    found.add(str(params["TZID"]))
    return found
