"""WebDAV XML for both sides: the client connectors (accounts/connectors/) send request bodies
and read multistatus answers; the CalDAV server (feeds/dav/) reads request bodies and builds
multistatus answers. One element model (``Node``), one serialiser, one defused parser.

Every body from the other side goes through defusedxml with DTDs forbidden, so a billion-laughs document or an
external entity fails at once with ProtocolError instead of expanding. The multistatus parser walks
the tree once with ``iterfind`` and keeps property elements as they are; callers pick what they
need, which keeps the per-item cost at a few microseconds.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element, ParseError
from xml.sax.saxutils import escape, quoteattr

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as defused_fromstring

from calsync.lib.errors import ProtocolError

DAV = "DAV:"
CALDAV = "urn:ietf:params:xml:ns:caldav"
CARDDAV = "urn:ietf:params:xml:ns:carddav"
CALENDARSERVER = "http://calendarserver.org/ns/"
APPLE_ICAL = "http://apple.com/ns/ical/"

# Fixed prefixes on the way out: some servers (old SOGo, Zimbra) mishandle default namespaces.
_PREFIXES = {DAV: "d", CALDAV: "c", CARDDAV: "card", CALENDARSERVER: "cs", APPLE_ICAL: "ical"}


def dav(name: str) -> str:
    return f"{{{DAV}}}{name}"


def caldav(name: str) -> str:
    return f"{{{CALDAV}}}{name}"


def carddav(name: str) -> str:
    return f"{{{CARDDAV}}}{name}"


MULTISTATUS = dav("multistatus")
RESPONSE = dav("response")
HREF = dav("href")
STATUS = dav("status")
PROPSTAT = dav("propstat")
PROP = dav("prop")
SYNC_TOKEN = dav("sync-token")
GETETAG = dav("getetag")
RESOURCETYPE = dav("resourcetype")
DISPLAYNAME = dav("displayname")
COLLECTION = dav("collection")
CURRENT_USER_PRINCIPAL = dav("current-user-principal")
GETCTAG = f"{{{CALENDARSERVER}}}getctag"
CALENDAR_COLOR = f"{{{APPLE_ICAL}}}calendar-color"


# --- building request bodies --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Node:
    """An element to serialize; ``tag`` is a Clark name such as ``{DAV:}prop``."""

    tag: str
    children: tuple[Node, ...] = ()
    text: str = ""
    attrs: tuple[tuple[str, str], ...] = ()


def node(tag: str, *children: Node, text: str = "", **attrs: str) -> Node:
    return Node(tag, children, text, tuple(attrs.items()))


def to_xml(root: Node) -> bytes:
    namespaces: dict[str, str] = {}
    _collect_namespaces(root, namespaces)
    declarations = "".join(f" xmlns:{prefix}={quoteattr(uri)}" for uri, prefix in namespaces.items())
    parts: list[str] = ['<?xml version="1.0" encoding="utf-8"?>\n']
    _write(root, namespaces, parts, declarations)
    return "".join(parts).encode("utf-8")


def _split(tag: str) -> tuple[str, str]:
    uri, _, local = tag[1:].partition("}")
    return uri, local


def _collect_namespaces(item: Node, namespaces: dict[str, str]) -> None:
    uri, _ = _split(item.tag)
    if uri not in namespaces:
        namespaces[uri] = _PREFIXES.get(uri, f"ns{len(namespaces)}")
    for child in item.children:
        _collect_namespaces(child, namespaces)


def _write(item: Node, namespaces: dict[str, str], parts: list[str], declarations: str = "") -> None:
    uri, local = _split(item.tag)
    name = f"{namespaces[uri]}:{local}"
    attrs = "".join(f" {key}={quoteattr(value)}" for key, value in item.attrs)
    if not item.children and not item.text:
        parts.append(f"<{name}{declarations}{attrs}/>")
        return
    parts.append(f"<{name}{declarations}{attrs}>{escape(item.text)}")
    for child in item.children:
        _write(child, namespaces, parts)
    parts.append(f"</{name}>")


def propfind_body(props: Iterable[str]) -> bytes:
    return to_xml(node(dav("propfind"), node(dav("prop"), *(node(tag) for tag in props))))


def sync_collection_body(token: str, props: Iterable[str]) -> bytes:
    """RFC 6578 section 3.2; an empty token asks for the initial, full listing."""
    return to_xml(
        node(
            dav("sync-collection"),
            node(SYNC_TOKEN, text=token),
            node(dav("sync-level"), text="1"),
            node(dav("prop"), *(node(tag) for tag in props)),
        )
    )


def multiget_body(report: str, data_prop: str, hrefs: Iterable[str], **data_attrs: str) -> bytes:
    """calendar-multiget (RFC 4791 section 7.9) or addressbook-multiget (RFC 6352 section 8.7);
    ``data_attrs`` ask for a media type and version (``content-type``, ``version``, section 10.4)."""
    data = node(data_prop, **data_attrs)
    return to_xml(node(report, node(dav("prop"), node(GETETAG), data), *(node(HREF, text=href) for href in hrefs)))


# --- building answers (the CalDAV server, feeds/dav/) ------------------------------------------

STATUS_TEXT = {
    200: "OK",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    424: "Failed Dependency",
    507: "Insufficient Storage",
}


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


def multistatus_node(entries: Iterable[Entry], *, sync_token: str | None = None) -> Node:
    children = [entry.to_node() for entry in entries]
    if sync_token is not None:
        children.append(node(SYNC_TOKEN, text=sync_token))
    return node(MULTISTATUS, *children)


def prop_value(tag: str, value: str | tuple[Node, ...]) -> Node:
    return node(tag, text=value) if isinstance(value, str) else node(tag, *value)


# --- parsing answers ----------------------------------------------------------------------------


def parse_untrusted(body: bytes) -> Element:
    """Parse XML from the other side (a server's answer, a client's request): no DTD, no entities,
    no external references, which is how XML bombs and file disclosure work. Raises
    ``DefusedXmlException`` or ``ParseError``."""
    root: Element = defused_fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    return root


def parse_xml(body: bytes, *, url: str) -> Element:
    """Parse a server body, or raise ProtocolError saying plainly what came back instead."""
    if not body.strip():
        raise ProtocolError(f"{url} answered with an empty body where XML was expected", url=url)
    try:
        return parse_untrusted(body)
    except DefusedXmlException:
        if _looks_like_html(body):
            raise ProtocolError(_html_message(url), url=url) from None
        raise ProtocolError(
            f"{url} answered with XML that declares a DTD or entities; calsync refuses such documents "
            "(they are how XML bombs work)",
            url=url,
        ) from None
    except ParseError as exc:
        if _looks_like_html(body):
            raise ProtocolError(_html_message(url), url=url) from None
        raise ProtocolError(f"{url} answered with something that is not well-formed XML ({exc})", url=url) from None


def _looks_like_html(body: bytes) -> bool:
    head = body[:512].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html")) or b"<html" in head


def _html_message(url: str) -> str:
    return f"{url} answered with an HTML page instead of WebDAV XML; is this the right URL?"


@dataclass(slots=True)
class DavResponse:
    """One ``DAV:response``: its href as the server wrote it, and the properties found (200)."""

    href: str
    status: int  # the response-level status; 200 when the answer came as propstats
    props: dict[str, Element] = field(default_factory=dict)


@dataclass(slots=True)
class Multistatus:
    responses: list[DavResponse]
    sync_token: str = ""


def parse_multistatus(body: bytes, *, url: str) -> Multistatus:
    root = parse_xml(body, url=url)
    if root.tag != MULTISTATUS:
        raise ProtocolError(f"{url} answered with an XML document that is not a DAV multistatus", url=url)
    return Multistatus(list(_responses(root)), (root.findtext(SYNC_TOKEN) or "").strip())


def _responses(root: Element) -> Iterator[DavResponse]:
    for response in root.iterfind(RESPONSE):
        hrefs = [(href.text or "").strip() for href in response.iterfind(HREF)]
        status_text = response.findtext(STATUS)
        if status_text is not None:
            # RFC 4918 section 14.24: several hrefs may share one status (e.g. 404 for deleted ones).
            code = status_code(status_text)
            for href in hrefs:
                yield DavResponse(href, code)
            continue
        props: dict[str, Element] = {}
        for propstat in response.iterfind(PROPSTAT):
            if status_code(propstat.findtext(STATUS) or "") // 100 != 2:
                continue
            prop = propstat.find(PROP)
            if prop is not None:
                for element in prop:
                    props[element.tag] = element
        if hrefs:
            yield DavResponse(hrefs[0], 200, props)


def status_code(status_line: str) -> int:
    """``HTTP/1.1 404 Not Found`` -> 404; 0 for something unreadable."""
    parts = status_line.split(None, 2)
    if len(parts) >= 2 and parts[1].isdigit():
        return int(parts[1])
    return 0


# --- reading properties -------------------------------------------------------------------------


def text(element: Element | None) -> str:
    return "".join(element.itertext()).strip() if element is not None else ""


def hrefs(element: Element | None) -> list[str]:
    if element is None:
        return []
    return [(href.text or "").strip() for href in element.iter(HREF) if (href.text or "").strip()]


def child_tags(element: Element | None) -> set[str]:
    return {child.tag for child in element} if element is not None else set()


def error_reason(body: bytes, content_type: str = "") -> str:
    """A short human reason from an error body: DAV:error preconditions, a description, or plain text.

    Never raises: error bodies are often HTML or empty.
    """
    if not body.strip():
        return ""
    if b"<" in body[:200] and not _looks_like_html(body):
        try:
            root = defused_fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
        except (DefusedXmlException, ParseError):
            return ""
        names = [_split(child.tag)[1] for child in root if _split(child.tag)[1] != "responsedescription"]
        description = (root.findtext(dav("responsedescription")) or "").strip()
        message = (root.findtext("{http://sabredav.org/ns}message") or "").strip()
        return "; ".join(part for part in (", ".join(names), description or message) if part)[:300]
    # A plain-text or HTML body is never quoted: it is whatever the target answered, and quoting
    # it would turn any error message into a way to read it.
    return ""


def error_conditions(body: bytes) -> set[str]:
    """The precondition element names of a ``DAV:error`` body (RFC 4918 section 16), as Clark names."""
    if not body.strip() or b"<" not in body[:200]:
        return set()
    try:
        root = defused_fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (DefusedXmlException, ParseError):
        return set()
    return {child.tag for child in root} if root.tag == dav("error") else set()
