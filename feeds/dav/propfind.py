"""PROPFIND, PROPPATCH, and making calendars (MKCALENDAR, RFC 5689 extended MKCOL)."""

from __future__ import annotations

from xml.etree.ElementTree import Element

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse

from calsync.lib.davxml import Entry, caldav, dav, node, prop_value
from feeds.dav import backends
from feeds.dav.backends.base import StoredObject
from feeds.dav.errors import DavError, bad_name, bad_request, forbidden, has_control_characters, not_found
from feeds.dav.props import (
    ALLPROP,
    LIVE,
    OBJECT_ALLPROP,
    WRITABLE,
    Value,
    collection_property,
    object_property,
)
from feeds.dav.resources import Kind, Resource, children, home_href, object_href
from feeds.dav.xmlio import multistatus, parse_body, xml_response

CALENDAR_DATA = caldav("calendar-data")
ALL_COMPONENTS = ["VEVENT", "VTODO", "VJOURNAL"]


class Wanted:
    """Which properties a PROPFIND (or REPORT) asks for."""

    def __init__(self, tags: list[str] | None, *, names_only: bool = False, extra: Element | None = None) -> None:
        self.tags = tags  # None: allprop
        self.names_only = names_only
        self.data_request = extra  # the <C:calendar-data> element when asked, for expand

    @property
    def wants_data(self) -> bool:
        return self.tags is not None and CALENDAR_DATA in self.tags

    @classmethod
    def from_prop(cls, prop: Element | None) -> Wanted:
        if prop is None:
            return cls(None)
        tags = [child.tag for child in prop]
        return cls(tags, extra=prop.find(CALENDAR_DATA))


def parse_propfind(root: Element | None) -> Wanted:
    if root is None:
        return Wanted(None)
    if root.tag != dav("propfind"):
        raise bad_request("A PROPFIND body is a DAV:propfind element.")
    if root.find(dav("propname")) is not None:
        return Wanted(None, names_only=True)
    prop = root.find(dav("prop"))
    if prop is not None:
        return Wanted.from_prop(prop)
    include = root.find(dav("include"))
    return Wanted(None if include is None else [*ALLPROP, *(child.tag for child in include)])


def collection_entry(resource: Resource, wanted: Wanted) -> Entry:
    entry = Entry(resource.href)
    tags = wanted.tags if wanted.tags is not None else list(ALLPROP)
    for tag in tags:
        _add(entry, tag, collection_property(tag, resource), wanted)
    return entry


def object_entry(resource: Resource, stored: StoredObject, wanted: Wanted, *, data: bytes | None = None) -> Entry:
    href = object_href(resource.user, resource.slug, stored.name)
    member = Resource(Kind.OBJECT, href, resource.user, resource.slug, resource.calendar, stored.name)
    entry = Entry(href)
    for tag in wanted.tags if wanted.tags is not None else OBJECT_ALLPROP:
        if tag == CALENDAR_DATA:
            body = data if data is not None else stored.data
            entry.found.append(node(tag, text=body.decode("utf-8", "replace")))
            continue
        _add(entry, tag, object_property(tag, stored, member), wanted)
    return entry


def _add(entry: Entry, tag: str, value: Value, wanted: Wanted) -> None:
    """A property found goes in ``found``; one asked for by name and not there, in ``missing`` (404)."""
    if value is not None:
        entry.found.append(node(tag) if wanted.names_only else prop_value(tag, value))
    elif wanted.tags is not None:
        entry.missing.append(tag)


def _depth(request: HttpRequest) -> int:
    depth = request.META.get("HTTP_DEPTH", "infinity").strip().lower()
    return 0 if depth == "0" else 1  # "infinity" is served as 1: calendars hold no sub-collections


def propfind(request: HttpRequest, resource: Resource) -> HttpResponse:
    wanted = parse_propfind(parse_body(request))
    depth = _depth(request)
    if resource.kind is Kind.OBJECT:
        stored = resource.calendar.objects_named([resource.name], with_data=True).get(resource.name)
        if stored is None:
            raise not_found()
        return multistatus([object_entry(resource, stored, wanted)])
    if resource.kind is Kind.CALENDAR and resource.calendar is None:
        raise not_found()
    entries = [collection_entry(resource, wanted)]
    if depth == 1:
        if resource.kind is Kind.CALENDAR:
            with_data = wanted.wants_data or wanted.tags is None
            entries += (
                object_entry(resource, stored, wanted) for stored in resource.calendar.objects(with_data=with_data)
            )
        else:
            entries += (collection_entry(child, wanted) for child in children(resource))
    return multistatus(entries)


# --- PROPPATCH ---------------------------------------------------------------------------------


def _text(element: Element) -> str:
    return "".join(element.itertext()).strip()


def _writable_value(tag: str, element: Element | None) -> str | int:
    text = _text(element) if element is not None else ""
    if tag == dav("displayname") and has_control_characters(text):
        # Refuses the whole request (not a 403 propstat): a name is what clients list and show.
        raise bad_name("A display name must not contain control characters.")
    if tag.endswith("}calendar-color") and len(text) > 32:
        raise ValueError("a colour is #RRGGBB, #RRGGBBAA or a colour name")
    if tag.endswith("}calendar-order"):
        try:
            return int(text or 0)
        except ValueError:
            raise ValueError("the order is a whole number") from None
    return text


def _apply_props(resource: Resource, updates: list[tuple[str, Element | None]]) -> Entry:
    """All or nothing (RFC 4918 section 9.2): one refused property fails the others with 424."""
    values: dict[str, str | int] = {}
    dead: dict[str, str | None] = {}
    refused: list[str] = []
    for tag, element in updates:
        if tag in WRITABLE:
            try:
                values[WRITABLE[tag]] = _writable_value(tag, element)
            except ValueError:
                refused.append(tag)
        elif tag in LIVE:
            refused.append(tag)
        else:
            dead[tag] = None if element is None else _text(element)
    entry = Entry(resource.href)
    if refused:
        entry.other[403] = refused
        entry.other[424] = [tag for tag, _ in updates if tag not in refused]
        return entry
    resource.calendar.set_properties(values, dead)
    entry.found = [node(tag) for tag, _ in updates]
    return entry


def proppatch(request: HttpRequest, resource: Resource) -> HttpResponse:
    if resource.kind is not Kind.CALENDAR or resource.calendar is None:
        raise forbidden("Only calendar properties can be changed here.")
    root = parse_body(request)
    if root is None or root.tag != dav("propertyupdate"):
        raise bad_request("A PROPPATCH body is a DAV:propertyupdate element.")
    updates: list[tuple[str, Element | None]] = []
    for action in root:
        for prop in action.findall(dav("prop")):
            updates.extend((element.tag, element if action.tag == dav("set") else None) for element in prop)
    return multistatus([_apply_props(resource, updates)])


# --- MKCALENDAR / MKCOL ------------------------------------------------------------------------


def mkcalendar(request: HttpRequest, resource: Resource) -> HttpResponse:
    root = parse_body(request)
    if root is not None and root.tag != caldav("mkcalendar"):
        raise bad_request("A MKCALENDAR body is a CALDAV:mkcalendar element.")
    return _make_calendar(resource, root)


def mkcol(request: HttpRequest, resource: Resource) -> HttpResponse:
    root = parse_body(request)
    if root is None or root.tag != dav("mkcol"):
        raise forbidden("Only calendars can be made here: use MKCALENDAR or an extended MKCOL (RFC 5689).")
    kind = root.find(f"{dav('set')}/{dav('prop')}/{dav('resourcetype')}")
    if kind is None or kind.find(caldav("calendar")) is None:
        raise forbidden("Only calendars can be made here.", dav("valid-resourcetype"))
    return _make_calendar(resource, root)


def _make_calendar(resource: Resource, root: Element | None) -> HttpResponse:
    _check_calendar_can_be_made(resource)
    components, updates = _requested_properties(root)
    values: dict[str, object] = {"components": components}
    try:
        with transaction.atomic():
            calendar = backends.calendar_create(
                resource.user, resource.slug, values, home_href=home_href(resource.user)
            )
            resource.calendar = calendar
            if updates:
                entry = _apply_props(resource, updates)
                if entry.other:
                    raise _Refused(entry)
    except IntegrityError:
        raise DavError(405, "Something exists here already.", condition=dav("resource-must-be-null")) from None
    except _Refused as refused:
        root_tag = caldav("mkcalendar-response") if root is None or root.tag != dav("mkcol") else dav("mkcol-response")
        return xml_response(node(root_tag, *refused.entry.to_node().children[1:]), status=403)
    return HttpResponse(status=201)


def _check_calendar_can_be_made(resource: Resource) -> None:
    if resource.kind is not Kind.CALENDAR:
        raise forbidden("Calendars are made inside your calendar home.")
    if resource.calendar is not None:
        raise DavError(405, "Something exists here already.", condition=dav("resource-must-be-null"))
    if resource.slug.startswith(backends.RESERVED_PREFIXES) or resource.slug.startswith("."):
        raise forbidden(f"Calendar names starting with {backends.RESERVED_PREFIXES[0]!r} are reserved.")


def _requested_properties(root: Element | None) -> tuple[list[str], list[tuple[str, Element | None]]]:
    """The components the new calendar takes (all by default) and the other properties to set on it."""
    components = list(ALL_COMPONENTS)
    updates: list[tuple[str, Element | None]] = []
    for prop in root.findall(f"{dav('set')}/{dav('prop')}") if root is not None else []:
        for element in prop:
            if element.tag == caldav("supported-calendar-component-set"):
                components = [comp.get("name", "").upper() for comp in element.findall(caldav("comp"))]
                if not components or set(components) - set(ALL_COMPONENTS):
                    raise forbidden(
                        "Calendars hold VEVENT, VTODO and VJOURNAL.", caldav("supported-calendar-component")
                    )
            elif element.tag != dav("resourcetype"):
                updates.append((element.tag, element))
    return components, updates


class _Refused(Exception):
    def __init__(self, entry: Entry) -> None:
        self.entry = entry
