"""REPORTs: calendar-multiget, calendar-query, sync-collection (RFC 6578) and free-busy-query."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, tzinfo
from urllib.parse import urlsplit
from xml.etree.ElementTree import Element

import icalendar
from django.http import HttpRequest, HttpResponse

from calsync.lib.davxml import Entry, caldav, dav, node
from calsync.limits import recurrence_limits
from feeds.dav import freebusy, query
from feeds.dav.backends.base import InvalidSyncToken, StoredObject
from feeds.dav.errors import DavError, bad_request, forbidden, not_found
from feeds.dav.propfind import Wanted, collection_entry, object_entry
from feeds.dav.props import collection_property
from feeds.dav.resources import ROOT, Kind, Resource, object_href, principal_href, resolve
from feeds.dav.timerange import FLOATING_SLACK
from feeds.dav.xmlio import multistatus, parse_body, xml_response

logger = logging.getLogger(__name__)


def report(request: HttpRequest, resource: Resource) -> HttpResponse:
    root = parse_body(request)
    if root is None:
        raise bad_request("A REPORT needs a body.")
    handler = _REPORTS.get(root.tag)
    if handler is None:
        raise forbidden("This report is not supported here.", dav("supported-report"))
    if resource.kind in (Kind.CALENDAR, Kind.OBJECT) and resource.calendar is None:
        raise not_found()
    return handler(request, resource, root)


def _calendar(resource: Resource) -> Resource:
    if resource.kind is not Kind.CALENDAR:
        raise forbidden("This report runs on a calendar collection.", dav("supported-report"))
    return resource


# --- calendar-multiget -------------------------------------------------------------------------


def multiget(request: HttpRequest, resource: Resource, root: Element) -> HttpResponse:
    wanted = Wanted.from_prop(root.find(dav("prop")))
    if wanted.tags is None:
        wanted = Wanted([dav("getetag"), caldav("calendar-data")])
    targets: dict[str, tuple[Resource, list[str]]] = {}
    missing: list[str] = []
    for element in root.findall(dav("href")):
        href = (element.text or "").strip()
        target = _object_at(resource.user, href)
        if target is None:
            missing.append(href)
            continue
        targets.setdefault(target.slug, (target, []))[1].append(target.name)
    entries: list[Entry] = []
    for target, names in targets.values():
        found = target.calendar.objects_named(names, with_data=True)
        for name in names:
            stored = found.get(name)
            if stored is None:
                missing.append(object_href(target.user, target.slug, name))
            else:
                zone = query.calendar_zone(target.calendar.time_zone)
                data = _data(stored, wanted, None, zone, href=object_href(target.user, target.slug, name))
                entries.append(object_entry(target, stored, wanted, data=data))
    entries += [Entry(href, status=404) for href in missing]
    return multistatus(entries)


def _object_at(user, href: str) -> Resource | None:
    path = urlsplit(href).path
    if not path.startswith(ROOT):
        return None
    try:
        target = resolve(user, path.removeprefix(ROOT))
    except DavError:  # a name no object can have (control characters, not UTF-8): that href is missing
        return None
    return target if target is not None and target.kind is Kind.OBJECT and target.calendar is not None else None


# --- calendar-query ----------------------------------------------------------------------------


def calendar_query(request: HttpRequest, resource: Resource, root: Element) -> HttpResponse:
    wanted = Wanted.from_prop(root.find(dav("prop")))
    element = root.find(caldav("filter"))
    if element is None:
        raise forbidden("A calendar-query needs a filter.", caldav("valid-filter"))
    try:
        compiled = query.parse_filter(element)
    except query.QueryError as exc:
        raise forbidden(str(exc), caldav(exc.condition)) from None
    component = query.component_name(compiled)
    span = query.prefilter_range(compiled)
    start, end = span if span else (None, None)
    if resource.kind is Kind.OBJECT:
        found = resource.calendar.objects_named([resource.name], with_data=True).get(resource.name)
        candidates: Iterable[StoredObject] = [found] if found else []
    else:
        candidates = _calendar(resource).calendar.candidates(component, start, end)
    target = resource if resource.kind is Kind.CALENDAR else _parent(resource)
    zone = query.calendar_zone(resource.calendar.time_zone)
    entries = (
        object_entry(target, stored, wanted, data=_data(stored, wanted, parsed, zone, href=_href(target, stored)))
        for stored, parsed in _matching(compiled, candidates, zone, target)
    )
    return multistatus(list(entries))


def _href(calendar: Resource, stored: StoredObject) -> str:
    return object_href(calendar.user, calendar.slug, stored.name)


def _log_bounds(bounds: query.Bounds, href: str) -> None:
    for uid, detail in bounds.hits:
        logger.warning("CalDAV: %s (UID %s) not expanded: %s; answered as stored", href, uid[:200], detail)


def _parent(resource: Resource) -> Resource:
    return Resource(
        Kind.CALENDAR, resource.href.rsplit("/", 1)[0] + "/", resource.user, resource.slug, resource.calendar
    )


def _matching(
    compiled: query.CompFilter, candidates: Iterable[StoredObject], floating_tz: tzinfo, calendar: Resource
) -> Iterator[tuple[StoredObject, icalendar.Calendar | None]]:
    simple = query.is_component_only(compiled)
    inside = _shrunk(query.plain_event_range(compiled))
    limits = recurrence_limits()
    for stored in candidates:
        if simple or (inside and _within(stored.span, inside)):
            yield stored, None
            continue
        try:
            parsed = icalendar.Calendar.from_ical(stored.data)
        except ValueError:
            continue
        bounds = query.Bounds(limits)
        matched = query.matches(compiled, parsed, floating_tz, bounds=bounds)
        _log_bounds(bounds, _href(calendar, stored))
        if matched:
            yield stored, parsed


def _shrunk(window: query.TimeRange | None) -> tuple[datetime, datetime] | None:
    """The part of a time-range that every stored span inside it surely overlaps, whatever its floating times."""
    if window is None or window.start is None or window.end is None:
        return None
    start, end = window.start + FLOATING_SLACK, window.end - FLOATING_SLACK
    return (start, end) if start < end else None


def _within(span: tuple[datetime | None, datetime | None] | None, inside: tuple[datetime, datetime]) -> bool:
    if span is None or span[0] is None or span[1] is None:
        return False
    return inside[0] <= span[0] and span[1] <= inside[1]


def _data(
    stored: StoredObject,
    wanted: Wanted,
    parsed: icalendar.Calendar | None = None,
    floating_tz: tzinfo = UTC,
    *,
    href: str = "",
) -> bytes | None:
    """The calendar-data to answer: stored bytes, or the expanded instances when asked (RFC 4791 9.6.5);
    a series too costly to expand is answered as stored."""
    request = wanted.data_request
    expand = request.find(caldav("expand")) if request is not None else None
    if expand is None or stored.data is None:
        return stored.data
    start, end = _range(expand)
    calendar = parsed if parsed is not None else icalendar.Calendar.from_ical(stored.data)
    bounds = query.Bounds(recurrence_limits())
    expanded = freebusy.expand(calendar, start, end, floating_tz, bounds)
    _log_bounds(bounds, href or stored.name)
    return expanded.to_ical()


def _range(element: Element) -> tuple[datetime, datetime]:
    try:
        start, end = query.parse_time(element.get("start", "")), query.parse_time(element.get("end", ""))
        if end <= start:
            raise ValueError("empty range")
        return start, end
    except (query.QueryError, ValueError):
        raise forbidden(
            "expand and time-range need a start before the end, in UTC (20250101T000000Z).", caldav("valid-filter")
        ) from None


# --- sync-collection ---------------------------------------------------------------------------


def sync_collection(request: HttpRequest, resource: Resource, root: Element) -> HttpResponse:
    calendar = _calendar(resource).calendar
    level = (root.findtext(dav("sync-level")) or "1").strip()
    if level not in ("1", "infinite"):
        raise bad_request("sync-level is 1 or infinite.")
    wanted = Wanted.from_prop(root.find(dav("prop")))
    if wanted.tags is None:
        wanted = Wanted([dav("getetag")])
    token = (root.findtext(dav("sync-token")) or "").strip()
    try:
        changes = calendar.changes_since(token, with_data=wanted.wants_data)
    except InvalidSyncToken:
        raise forbidden(
            "That sync token is not known here; sync again from the start.", dav("valid-sync-token")
        ) from None
    zone = query.calendar_zone(calendar.time_zone)
    entries = [
        object_entry(resource, stored, wanted, data=_data(stored, wanted, None, zone, href=_href(resource, stored)))
        for stored in changes.changed
    ]
    entries += [Entry(object_href(resource.user, resource.slug, name), status=404) for name in changes.deleted]
    return multistatus(entries, sync_token=changes.token)


# --- free-busy-query ---------------------------------------------------------------------------


def free_busy(request: HttpRequest, resource: Resource, root: Element) -> HttpResponse:
    calendar = _calendar(resource).calendar
    element = root.find(caldav("time-range"))
    if element is None:
        raise forbidden("A free-busy-query needs a time-range.", caldav("valid-filter"))
    start, end = _range(element)
    parsed = []
    hrefs: dict[str, str] = {}
    for stored in calendar.candidates("VEVENT", *query.candidate_range(start, end)):
        try:
            parsed.append(icalendar.Calendar.from_ical(stored.data))
        except ValueError:
            continue
        for event in parsed[-1].walk("VEVENT"):
            hrefs.setdefault(str(event.get("UID", "")), _href(resource, stored))
    bounds = query.Bounds(recurrence_limits())
    busy = freebusy.free_busy(parsed, start, end, query.calendar_zone(calendar.time_zone), bounds=bounds)
    for uid, detail in bounds.hits:
        # A series too costly to expand counts the whole range busy (feeds.dav.timerange.instances).
        logger.warning("CalDAV free-busy: %s (UID %s) not expanded: %s; busy for the whole range",
                       hrefs.get(uid, "?"), uid[:200], detail)  # fmt: skip
    return HttpResponse(busy, content_type="text/calendar; charset=utf-8")


# --- principal-property-search (RFC 3744 section 9.4) --------------------------------------------

SEARCHABLE = (dav("displayname"), caldav("calendar-user-address-set"))
_SEARCH_SYNTAX = {dav("property-search"), dav("prop"), dav("apply-to-principal-collection-set")}


def principal_search(request: HttpRequest, resource: Resource, root: Element) -> HttpResponse:
    """Clients look principals up by name; a user only ever finds themself."""
    if resource.kind not in (Kind.ROOT, Kind.PRINCIPALS, Kind.PRINCIPAL):
        raise forbidden("Search principals on the principal collection.", dav("supported-report"))
    me = Resource(Kind.PRINCIPAL, principal_href(resource.user), resource.user)
    tests = []
    for search in root.findall(dav("property-search")):
        needle = (search.findtext(dav("match")) or "").casefold()
        tags = [prop.tag for prop in search.find(dav("prop")) or []]
        tests.append(any(needle in _searchable_text(me, tag) for tag in tags))
    found = all(tests) if root.get("test", "allof") == "allof" else any(tests)
    # python-caldav 3 puts the wanted properties beside an empty <prop/> rather than inside it.
    loose = [child.tag for child in root if child.tag not in _SEARCH_SYNTAX]
    wanted = Wanted.from_prop(root.find(dav("prop")))
    wanted.tags = [*(wanted.tags or []), *loose]
    return multistatus([collection_entry(me, wanted)] if found or not tests else [])


def _searchable_text(principal: Resource, tag: str) -> str:
    if tag not in SEARCHABLE:
        return ""
    value = collection_property(tag, principal)
    if isinstance(value, str):
        return value.casefold()
    return " ".join(child.text for child in value or ()).casefold()


def principal_search_set(request: HttpRequest, resource: Resource, root: Element) -> HttpResponse:
    searchable = [node(dav("principal-search-property"), node(dav("prop"), node(tag))) for tag in SEARCHABLE]
    return xml_response(node(dav("principal-search-property-set"), *searchable))


_REPORTS = {
    caldav("calendar-multiget"): multiget,
    caldav("calendar-query"): calendar_query,
    dav("sync-collection"): sync_collection,
    caldav("free-busy-query"): free_busy,
    dav("principal-property-search"): principal_search,
    dav("principal-search-property-set"): principal_search_set,
}
