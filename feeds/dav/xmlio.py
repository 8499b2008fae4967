"""Request bodies in (defused, size-capped) and multistatus answers out."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from django.conf import settings
from django.http import HttpRequest, HttpResponse

from accounts.connectors.xml import Node, dav, node, to_xml
from feeds.dav.errors import WELL_FORMED_XML, DavError, bad_request

STATUS_TEXT = {
    200: "OK",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    424: "Failed Dependency",
    507: "Insufficient Storage",
}
XML_TYPE = 'application/xml; charset="utf-8"'
# The human-readable reason beside the precondition element of an error body.
_CALSYNC_MESSAGE = "{http://calsync.invalid/ns/}message"


def read_body(request: HttpRequest, limit: int | None = None) -> bytes:
    """The request body, refused before reading when it announces more than ``limit`` bytes."""
    limit = limit or settings.CALSYNC_DAV_MAX_XML_BYTES
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise bad_request("Content-Length is not a number.") from None
    if length > limit:
        raise DavError(413, f"The request body may be at most {limit} bytes.")
    body = request.read(limit + 1)
    if len(body) > limit:
        raise DavError(413, f"The request body may be at most {limit} bytes.")
    return body


def parse_body(request: HttpRequest) -> Element | None:
    """The XML body, or ``None`` when there is none; entities and DTDs are refused."""
    body = read_body(request)
    if not body.strip():
        return None
    try:
        return fromstring(body, forbid_dtd=True)
    except (ParseError, DefusedXmlException, ValueError) as exc:
        raise DavError(400, f"The request body is not acceptable XML: {exc}", condition=WELL_FORMED_XML) from None


def status_line(code: int) -> str:
    return f"HTTP/1.1 {code} {STATUS_TEXT.get(code, '')}".rstrip()


@dataclass(slots=True)
class Entry:
    """One ``<D:response>``: either properties grouped by status, or one status for the href."""

    href: str
    found: list[Node] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    status: int | None = None
    other: dict[int, list[str]] = field(default_factory=dict)

    def to_node(self) -> Node:
        if self.status is not None:
            return node(
                dav("response"), node(dav("href"), text=self.href), node(dav("status"), text=status_line(self.status))
            )
        groups: list[Node] = []
        if self.found or not (self.missing or self.other):
            groups.append(_propstat(200, self.found))
        if self.missing:
            groups.append(_propstat(404, [node(tag) for tag in self.missing]))
        for code, tags in self.other.items():
            groups.append(_propstat(code, [node(tag) for tag in tags]))
        return node(dav("response"), node(dav("href"), text=self.href), *groups)


def _propstat(code: int, props: list[Node]) -> Node:
    return node(dav("propstat"), node(dav("prop"), *props), node(dav("status"), text=status_line(code)))


def multistatus(entries: Iterable[Entry], *, sync_token: str | None = None) -> HttpResponse:
    children = [entry.to_node() for entry in entries]
    if sync_token is not None:
        children.append(node(dav("sync-token"), text=sync_token))
    return xml_response(node(dav("multistatus"), *children), status=207)


def xml_response(root: Node, *, status: int = 200) -> HttpResponse:
    return HttpResponse(to_xml(root), status=status, content_type=XML_TYPE)


def error_response(error: DavError) -> HttpResponse:
    if error.condition is None:
        return HttpResponse(error.message + "\n", status=error.status, content_type="text/plain; charset=utf-8")
    root = node(dav("error"), node(error.condition, *error.detail), node(_CALSYNC_MESSAGE, text=error.message))
    return xml_response(root, status=error.status)


def prop_value(tag: str, value: str | tuple[Node, ...]) -> Node:
    return node(tag, text=value) if isinstance(value, str) else node(tag, *value)
