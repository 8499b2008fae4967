"""CalDAV (RFC 4791): calendars and task lists."""

from __future__ import annotations

from typing import ClassVar
from urllib.parse import unquote, urlsplit
from xml.etree.ElementTree import Element

from accounts.connectors.base import RemoteCollection
from accounts.connectors.dav import DavConnector
from calsync.lib import davxml as dx
from calsync.lib.http import display_url

SUPPORTED_COMPONENTS = dx.caldav("supported-calendar-component-set")
KNOWN_COMPONENTS = ("VEVENT", "VTODO", "VJOURNAL")


class CalDAVConnector(DavConnector):
    kind: ClassVar[str] = "caldav"
    service = "caldav"
    service_label = "CalDAV"
    collection_kind = "calendar"
    collection_label = ("calendar", "calendars")
    resource_type = dx.caldav("calendar")
    home_set = dx.caldav("calendar-home-set")
    description_prop = dx.caldav("calendar-description")
    extra_collection_props = (dx.CALENDAR_COLOR, SUPPORTED_COMPONENTS)
    content_type = "text/calendar; charset=utf-8"
    extension = ".ics"
    multiget_report = dx.caldav("calendar-multiget")
    data_prop = dx.caldav("calendar-data")

    def holds(self, collection: RemoteCollection, component: str) -> bool:
        """Whether ``collection`` holds at least one ``component`` (VEVENT, VTODO, VJOURNAL).

        A calendar-query (RFC 4791 section 7.8) that asks only for etags: the server filters, and
        no calendar data is downloaded, which matters for a calendar of thousands of events.
        """
        wanted = dx.node(dx.caldav("comp-filter"), name=component)
        calendar = dx.node(dx.caldav("comp-filter"), wanted, name="VCALENDAR")
        etags = dx.node(dx.dav("prop"), dx.node(dx.GETETAG))
        query = dx.node(dx.caldav("calendar-query"), etags, dx.node(dx.caldav("filter"), calendar))
        response = self._dav_request("REPORT", collection.url, dx.to_xml(query), depth=1)
        if response.status != 207:
            raise self._error(response, f"search {display_url(collection.url)}")
        own = _path(collection.url)
        listing = dx.parse_multistatus(response.content, url=display_url(response.url))
        return any(entry.status == 200 and _path(entry.href) != own for entry in listing.responses)

    def _components(self, props: dict[str, Element]) -> tuple[str, ...]:
        # RFC 4791 section 5.2.3: no component set means the calendar takes every type, reported as ().
        element = props.get(SUPPORTED_COMPONENTS)
        if element is None:
            return ()
        return tuple(comp.get("name", "").upper() for comp in element.iter(dx.caldav("comp")) if comp.get("name"))

    def _mkcol_request(
        self, *, name: str, color: str, description: str, components: tuple[str, ...]
    ) -> tuple[str, bytes]:
        unknown = set(components) - set(KNOWN_COMPONENTS)
        if unknown:
            raise ValueError(f"unknown calendar component types: {', '.join(sorted(unknown))}")
        props = [dx.node(dx.DISPLAYNAME, text=name)]
        if color:
            props.append(dx.node(dx.CALENDAR_COLOR, text=color))
        if description:
            props.append(dx.node(self.description_prop, text=description))
        if components:
            props.append(dx.node(SUPPORTED_COMPONENTS, *(dx.node(dx.caldav("comp"), name=comp) for comp in components)))
        body = dx.node(dx.caldav("mkcalendar"), dx.node(dx.dav("set"), dx.node(dx.dav("prop"), *props)))
        return "MKCALENDAR", dx.to_xml(body)


def _path(href: str) -> str:
    # Servers mix absolute URLs and paths, %40 and @; a collection may list itself.
    return unquote(urlsplit(href).path).rstrip("/")
