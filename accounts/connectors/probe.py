"""Probe what a CalDAV/CardDAV server does, for the account's ``ServerProfile``.

Advertised is not proof (DAViCal advertises component sets it does not enforce), so the probe
writes: in the account's calendar home it makes two scratch calendars and in its address book
home one scratch address book, named ``calsync-probe-<random>``, writes a few objects of its own
there, and deletes the scratch collections again, whatever happened. Nothing the user owns is
read, written or listed. Every request goes through the connector's HTTP seam (its timeouts and
address policy), and the whole probe stops starting new steps after ``budget`` seconds; what it
did not get to stays ``None`` (not known).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from urllib.parse import urljoin

from accounts.connectors.base import AccountConfig, ConnectorError
from accounts.connectors.caldav import CalDAVConnector
from accounts.connectors.carddav import CardDAVConnector
from accounts.connectors.davitems import XML_CONTENT_TYPE
from accounts.connectors.profile import ServerProfile
from calsync.lib import davxml as dx
from calsync.lib.http import HttpResponse

logger = logging.getLogger("calsync.connectors")

PROBE_BUDGET_SECONDS = 30.0
VCARD4_ACCEPT = "text/vcard; version=4.0"
CREATED = (200, 201, 204)


class _OutOfTime(Exception):
    pass


class _Probe:
    def __init__(self, budget: float) -> None:
        self.deadline = time.monotonic() + budget
        self.found: dict[str, bool | None] = {}
        self.notes: list[str] = []
        self.name = f"calsync-probe-{uuid.uuid4().hex[:10]}"

    def step(self) -> None:
        if time.monotonic() > self.deadline:
            raise _OutOfTime

    # --- calendars ------------------------------------------------------------------------------

    def calendars(self, connector: CalDAVConnector) -> None:
        home = connector._home_for_new_collections()
        mixed = urljoin(home, f"{self.name}/")
        if not self._make(connector, mixed, components=("VEVENT", "VTODO")):
            return
        try:
            self.step()
            created = _put(connector, urljoin(mixed, "event.ics"), _event(self.name), connector.content_type)
            if created.status in CREATED:
                self.found["etag_on_put"] = bool(created.headers.get("etag"))
                self.step()
                again = _put(connector, urljoin(mixed, "event.ics"), _event(self.name, "2"), connector.content_type)
                self.found["ignores_if_none_match"] = _ignored(again)
            self.step()
            task = _put(connector, urljoin(mixed, "task.ics"), _todo(self.name), connector.content_type)
            self.found["mixed_components"] = created.status in CREATED and task.status in CREATED
            self.step()
            self.found["supports_sync_collection"] = _syncs(connector, mixed)
        finally:
            self._remove(connector, mixed)
        self.step()
        tasks = urljoin(home, f"{self.name}-tasks/")
        if not self._make(connector, tasks, components=("VTODO",)):
            return
        try:
            self.step()
            event = _put(connector, urljoin(tasks, "event.ics"), _event(f"{self.name}-t"), connector.content_type)
            self.found["honours_component_set"] = event.status not in CREATED
        finally:
            self._remove(connector, tasks)
        self.notes.append(f"Created and removed two scratch calendars ({self.name}…) in the calendar home.")

    # --- address books --------------------------------------------------------------------------

    def address_books(self, connector: CardDAVConnector) -> None:
        home = connector._home_for_new_collections()
        book = urljoin(home, f"{self.name}/")
        if not self._make(connector, book):
            return
        try:
            self.step()
            self.found["vcard4_advertised"] = connector.offers_vcard4(book)
            self.step()
            card_url = urljoin(book, "contact.vcf")
            created = _put(connector, card_url, _vcard4(self.name), "text/vcard; charset=utf-8")
            if created.status in CREATED:
                self.found["etag_on_vcard_put"] = bool(created.headers.get("etag"))
                self.step()
                read = connector.http.request("GET", card_url, headers={"Accept": VCARD4_ACCEPT})
                if read.status == 200:
                    self.found["vcard4"] = _kept(_vcard4(self.name), read.content)
        finally:
            self._remove(connector, book)
        self.notes.append(f"Created and removed a scratch address book ({self.name}) in the address book home.")

    # --- collections ----------------------------------------------------------------------------

    def _make(self, connector: CalDAVConnector | CardDAVConnector, url: str, components: tuple[str, ...] = ()) -> bool:
        self.step()
        method, body = connector._mkcol_request(
            name="calsync probe (safe to delete)", color="", description="", components=components
        )
        response = connector.http.request(method, url, headers={"Content-Type": XML_CONTENT_TYPE}, content=body)
        if response.status in CREATED:
            return True
        what = "calendar" if isinstance(connector, CalDAVConnector) else "address book"
        self.notes.append(f"Could not create a scratch {what} (the server answered {response.status}).")
        return False

    def _remove(self, connector: CalDAVConnector | CardDAVConnector, url: str) -> None:
        # Cyrus answers 500 for about a second after some writes; one more try after a pause.
        for attempt in range(3):
            try:
                response = connector.http.request("DELETE", url)
            except ConnectorError:
                response = None
            if response is not None and response.status in (200, 204, 404):
                return
            time.sleep(0.5 * (attempt + 1))
        self.notes.append(f"Could not remove the scratch collection {self.name}: please delete it.")


def probe_profile(config: AccountConfig, *, budget: float = PROBE_BUDGET_SECONDS) -> ServerProfile:
    """Probe the server of a CalDAV or CardDAV account; the other kind is probed on the same server
    and credentials when it has a home there (one server almost always serves both)."""
    probe = _Probe(budget)
    calendars = CalDAVConnector(replace(config, kind="caldav"))
    books = CardDAVConnector(replace(config, kind="carddav"))
    try:
        for label, run in (
            ("calendars", lambda: probe.calendars(calendars)),
            ("address books", lambda: probe.address_books(books)),
        ):
            _run(probe, label, run)
    finally:
        calendars.close()
        books.close()
    stamp = datetime.now(UTC).replace(microsecond=0).isoformat()
    return ServerProfile(**probe.found, probed_at=stamp, notes=tuple(probe.notes))


def _run(probe: _Probe, label: str, run: Callable[[], None]) -> None:
    try:
        run()
    except _OutOfTime:
        probe.notes.append(f"Stopped probing {label}: the probe took longer than it may.")
    except ConnectorError as exc:
        logger.info("probing %s: %s", label, type(exc).__name__)
        probe.notes.append(f"Could not probe {label}: {exc}")


def _put(connector: CalDAVConnector | CardDAVConnector, url: str, data: bytes, content_type: str) -> HttpResponse:
    headers = {"If-None-Match": "*", "Content-Type": content_type}
    return connector.http.request("PUT", url, headers=headers, content=data)


def _ignored(response: HttpResponse) -> bool | None:
    if response.status in CREATED:
        return True
    return False if response.status == 412 else None


def _syncs(connector: CalDAVConnector, url: str) -> bool:
    body = dx.sync_collection_body("", (dx.GETETAG,))
    response = connector.http.request(
        "REPORT", url, headers={"Depth": "0", "Content-Type": XML_CONTENT_TYPE}, content=body
    )
    return response.status == 207


def _event(uid: str, sequence: str = "1") -> bytes:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calsync//server probe//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:{uid}-event\r\nDTSTAMP:20250101T090000Z\r\nDTSTART:20250301T090000Z\r\n"
        f"DTEND:20250301T100000Z\r\nSUMMARY:calsync probe {sequence}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    ).encode()


def _todo(uid: str) -> bytes:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calsync//server probe//EN\r\nBEGIN:VTODO\r\n"
        f"UID:{uid}-task\r\nDTSTAMP:20250101T090000Z\r\nSUMMARY:calsync probe\r\nEND:VTODO\r\nEND:VCALENDAR\r\n"
    ).encode()


# A 1x1 PNG: vCard 4 carries a photo as a data: URI (RFC 6350 section 6.2.4), whose comma a server
# that parses it as vCard 3 cuts (Radicale stores ``PHOTO:data:image/png\;base64``).
PROBE_PHOTO = (
    "data:image/png;base64,"
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def _vcard4(uid: str) -> bytes:
    """A contact as a vCard 4 client writes it: a photo URI and structured N and ADR."""
    return (
        f"BEGIN:VCARD\r\nVERSION:4.0\r\nUID:urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, uid)}\r\n"
        "FN:calsync probe\r\nN:Probe;Calsync;Q.;Dr.;Jr.\r\nKIND:individual\r\n"
        "ADR;TYPE=work:;Suite 4;1 Main Street;Springfield;IL;62701;USA\r\n"
        f"PHOTO:{PROBE_PHOTO}\r\nEND:VCARD\r\n"
    ).encode()


def _kept(sent: bytes, read: bytes) -> bool:
    """Whether every line written comes back unchanged (a server may add lines, such as REV, and
    spell property names and parameters in another case)."""
    return _content_lines(sent) <= _content_lines(read)


def _content_lines(data: bytes) -> set[str]:
    lines = set()
    for line in data.replace(b"\r\n ", b"").replace(b"\n ", b"").decode("utf-8", "replace").splitlines():
        name, _, value = line.partition(":")
        lines.add(f"{name.upper()}:{value}")
    return lines
