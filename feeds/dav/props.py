"""Properties of each kind of resource, for PROPFIND, REPORT answers and PROPPATCH.

A property is a function of the resource giving its children (``Node``s) or text; ``None`` means
"not defined here", answered as 404 in its own propstat. Object properties are built from a
``StoredObject`` the caller loaded in bulk, so listing a large calendar costs no query per member.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.utils.http import http_date

from calsync.lib.davxml import APPLE_ICAL, CALENDARSERVER, Node, caldav, dav, node
from feeds.dav.backends.base import StoredObject
from feeds.dav.resources import Kind, Resource, home_href, principal_href

Value = str | tuple[Node, ...] | None
Getter = Callable[[Resource], Value]

CS_GETCTAG = f"{{{CALENDARSERVER}}}getctag"
ICAL_COLOR = f"{{{APPLE_ICAL}}}calendar-color"
ICAL_ORDER = f"{{{APPLE_ICAL}}}calendar-order"

REPORTS_OF = {
    Kind.CALENDAR: ("calendar-multiget", "calendar-query", "sync-collection", "free-busy-query"),
    Kind.HOME: ("calendar-multiget",),
    Kind.PRINCIPAL: ("principal-property-search", "principal-search-property-set"),
    Kind.PRINCIPALS: ("principal-property-search", "principal-search-property-set"),
}
_DAV_REPORTS = {"sync-collection", "principal-property-search", "principal-search-property-set"}
PRIVILEGES_WRITE = (
    "read",
    "write",
    "write-properties",
    "write-content",
    "bind",
    "unbind",
    "read-current-user-privilege-set",
)
PRIVILEGES_READ = ("read", "read-current-user-privilege-set")
# Change and remove what is there, add nothing (an artist's appointments: bookings start in calsync).
# DAV:write aggregates bind (RFC 3744 section 3.10), so it is left out too.
PRIVILEGES_NO_BIND = ("read", "write-properties", "write-content", "unbind", "read-current-user-privilege-set")


def _href(value: str) -> tuple[Node, ...]:
    return (node(dav("href"), text=value),)


def _resourcetype(resource: Resource) -> Value:
    if resource.kind is Kind.OBJECT:
        return ()
    if resource.kind is Kind.PRINCIPAL:
        return (node(dav("collection")), node(dav("principal")))
    if resource.kind is Kind.CALENDAR:
        return (node(dav("collection")), node(caldav("calendar")))
    return (node(dav("collection")),)


def _displayname(resource: Resource) -> Value:
    if resource.kind is Kind.CALENDAR:
        return resource.calendar.display_name or resource.slug
    if resource.kind is Kind.PRINCIPAL:
        return resource.user.get_full_name() or resource.user.get_username()
    return None


def _calendar_attr(attr: str) -> Getter:
    def get(resource: Resource) -> Value:
        if resource.kind is not Kind.CALENDAR:
            return None
        value = getattr(resource.calendar, attr)
        return str(value) if value not in ("", None) else None

    return get


def _components(resource: Resource) -> Value:
    if resource.kind is not Kind.CALENDAR:
        return None
    return tuple(node(caldav("comp"), name=name) for name in resource.calendar.components)


def _supported_data(resource: Resource) -> Value:
    if resource.kind is not Kind.CALENDAR:
        return None
    return (node(caldav("calendar-data"), **{"content-type": "text/calendar", "version": "2.0"}),)


def _report_set(resource: Resource) -> Value:
    reports = REPORTS_OF.get(resource.kind)
    if reports is None:
        return None
    return tuple(
        node(dav("supported-report"), node(dav("report"), node(dav(r) if r in _DAV_REPORTS else caldav(r))))
        for r in reports
    )


def _privileges(resource: Resource) -> Value:
    calendar = resource.calendar if resource.kind in (Kind.CALENDAR, Kind.OBJECT) else None
    names: tuple[str, ...]
    if calendar is None:
        names = PRIVILEGES_WRITE
    elif not calendar.writable:
        names = PRIVILEGES_READ
    else:
        names = PRIVILEGES_WRITE if calendar.can_add else PRIVILEGES_NO_BIND
    return tuple(node(dav("privilege"), node(dav(name))) for name in names)


def _principal_only(getter: Callable[[Resource], Value]) -> Getter:
    return lambda resource: getter(resource) if resource.kind is Kind.PRINCIPAL else None


def _calendar_only(getter: Callable[[Resource], Value]) -> Getter:
    return lambda resource: getter(resource) if resource.kind is Kind.CALENDAR else None


def _address_set(resource: Resource) -> Value:
    email = resource.user.email
    return (*(_href(f"mailto:{email}") if email else ()), *_href(principal_href(resource.user)))


def _max_size(resource: Resource) -> Value:
    return str(settings.CALSYNC_DAV_MAX_OBJECT_BYTES)


LIVE: dict[str, Getter] = {
    dav("resourcetype"): _resourcetype,
    dav("displayname"): _displayname,
    dav("current-user-principal"): lambda r: _href(principal_href(r.user)),
    dav("principal-collection-set"): lambda r: _href("/dav/principals/"),
    dav("owner"): lambda r: _href(principal_href(r.user)) if r.kind in (Kind.HOME, Kind.CALENDAR) else None,
    dav("current-user-privilege-set"): _privileges,
    dav("supported-report-set"): _report_set,
    dav("principal-URL"): _principal_only(lambda r: _href(principal_href(r.user))),
    # Also on the roots (/dav/ and the site's /), so a client given only the host saves a step.
    caldav("calendar-home-set"): lambda r: _href(home_href(r.user)) if r.kind in (Kind.PRINCIPAL, Kind.ROOT) else None,
    caldav("calendar-user-address-set"): _principal_only(_address_set),
    caldav("calendar-user-type"): _principal_only(lambda r: "INDIVIDUAL"),
    caldav("calendar-description"): _calendar_attr("description"),
    caldav("calendar-timezone"): _calendar_attr("time_zone"),
    caldav("supported-calendar-component-set"): _components,
    caldav("supported-calendar-data"): _supported_data,
    caldav("max-resource-size"): _calendar_only(_max_size),
    ICAL_COLOR: _calendar_attr("color"),
    ICAL_ORDER: _calendar_attr("order"),
    CS_GETCTAG: _calendar_only(lambda r: r.calendar.sync_token()),
    dav("sync-token"): _calendar_only(lambda r: r.calendar.sync_token()),
}
# What allprop answers (RFC 4918 section 14.2; RFC 4791 keeps calendar-data out of it).
ALLPROP = (
    dav("resourcetype"),
    dav("displayname"),
    dav("owner"),
    caldav("calendar-description"),
    caldav("supported-calendar-component-set"),
    ICAL_COLOR,
    CS_GETCTAG,
    dav("sync-token"),
)
OBJECT_ALLPROP = (
    dav("resourcetype"),
    dav("getetag"),
    dav("getcontenttype"),
    dav("getcontentlength"),
    dav("getlastmodified"),
)
# PROPPATCH: property -> (model attribute, how to read the new value)
WRITABLE = {
    dav("displayname"): "display_name",
    caldav("calendar-description"): "description",
    caldav("calendar-timezone"): "time_zone",
    ICAL_COLOR: "color",
    ICAL_ORDER: "order",
}


def object_property(tag: str, stored: StoredObject, resource: Resource) -> Value:
    """Properties of one calendar object, from what was loaded for it."""
    if tag == dav("getetag"):
        return f'"{stored.etag}"'
    if tag == dav("getcontenttype"):
        component = stored.component.lower() or "vevent"
        return f"text/calendar; charset=utf-8; component={component}"
    if tag == dav("getcontentlength"):
        size = len(stored.data) if stored.data is not None else stored.size
        return None if size is None else str(size)
    if tag == dav("getlastmodified") and stored.modified is not None:
        return http_date(stored.modified.timestamp())  # RFC 4918 section 15.7: an HTTP-date
    if tag == dav("resourcetype"):
        return ()
    if tag in (dav("current-user-principal"), dav("current-user-privilege-set")):
        return LIVE[tag](resource)
    return None


def collection_property(tag: str, resource: Resource) -> Value:
    getter = LIVE.get(tag)
    if getter is not None:
        return getter(resource)
    if resource.kind is Kind.CALENDAR:
        dead = getattr(resource.calendar, "dead_properties", {})
        if tag in dead:
            return dead[tag]
    return None
