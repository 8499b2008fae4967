"""Request bodies in (defused, size-capped) and multistatus answers out, as Django sees them.

The XML itself (parsing untrusted bodies, building ``<D:multistatus>``) is calsync/lib/davxml.py,
shared with the client connectors."""

from __future__ import annotations

from collections.abc import Iterable
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from django.conf import settings
from django.http import HttpRequest, HttpResponse

from calsync.lib.davxml import Entry, Node, dav, multistatus_node, node, parse_untrusted, to_xml
from feeds.dav.errors import WELL_FORMED_XML, DavError, bad_request

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
        return parse_untrusted(body)
    except (ParseError, DefusedXmlException, ValueError) as exc:
        raise DavError(400, f"The request body is not acceptable XML: {exc}", condition=WELL_FORMED_XML) from None


def multistatus(entries: Iterable[Entry], *, sync_token: str | None = None) -> HttpResponse:
    return xml_response(multistatus_node(entries, sync_token=sync_token), status=207)


def xml_response(root: Node, *, status: int = 200) -> HttpResponse:
    return HttpResponse(to_xml(root), status=status, content_type=XML_TYPE)


def error_response(error: DavError) -> HttpResponse:
    if error.condition is None:
        return HttpResponse(error.message + "\n", status=error.status, content_type="text/plain; charset=utf-8")
    root = node(dav("error"), node(error.condition, *error.detail), node(_CALSYNC_MESSAGE, text=error.message))
    return xml_response(root, status=error.status)
