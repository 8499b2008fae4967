"""The connector contract, run for CalDAV and CardDAV against real Radicale and Xandikos.

Every test that takes ``dav_server`` and ``kind`` runs four times (two servers x two connectors).
Hostile or broken servers (XML bombs, HTML pages, huge answers, silence) are tiny local HTTP
servers started by the test itself. The DAV servers are shared by the session, so each test
makes its own collection with a unique name.
"""

from __future__ import annotations

import base64
import http.client
import logging
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest

from accounts.connectors import CONNECTORS, connector_for
from accounts.connectors.base import (
    AccountConfig,
    AuthError,
    ConfigError,
    ItemRejected,
    ItemStore,
    NotFound,
    PreconditionFailed,
    ProtocolError,
    PutResult,
    RemoteCollection,
    TransientError,
)
from accounts.connectors.dav import DavConnector
from calsync.lib.http import HttpClient, display_url, normalize_url
from calsync.testing.servers import DavServer, free_port

COLLECTION_KIND = {"caldav": "calendar", "carddav": "addressbook"}


# --- data ---------------------------------------------------------------------------------------


def event(uid: str, summary: str) -> bytes:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calsync//contract tests//EN\r\n"
        f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20250101T090000Z\r\n"
        "DTSTART:20250301T090000Z\r\nDTEND:20250301T100000Z\r\n"
        f"SUMMARY:{summary}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    ).encode()


def vcard(uid: str, name: str, version: str = "4.0") -> bytes:
    return (
        f"BEGIN:VCARD\r\nVERSION:{version}\r\nUID:{uid}\r\nFN:{name}\r\nN:{name};;;;\r\n"
        "EMAIL:someone@example.org\r\nEND:VCARD\r\n"
    ).encode()


def item(kind: str, uid: str, title: str) -> bytes:
    return event(uid, title) if kind == "caldav" else vcard(uid, title)


# --- fixtures -----------------------------------------------------------------------------------


def config_for(server: DavServer, kind: str, **changes: str) -> AccountConfig:
    values: dict[str, Any] = {"kind": kind, "url": server.url, "username": server.username, "password": server.password}
    return AccountConfig(**{**values, **changes})


@pytest.fixture(params=["caldav", "carddav"])
def kind(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def connector(dav_server: DavServer, kind: str) -> Iterator[DavConnector]:
    with connector_for(config_for(dav_server, kind)) as instance:
        yield instance


@pytest.fixture
def collection(connector: DavConnector, kind: str) -> RemoteCollection:
    components = ("VEVENT", "VTODO") if kind == "caldav" else ()
    return connector.create_collection(
        name=f"Contract {uuid.uuid4().hex[:10]}", kind=COLLECTION_KIND[kind], components=components
    )


@pytest.fixture
def no_retries(settings) -> None:
    settings.CALSYNC_HTTP_RETRIES = 0
    settings.CALSYNC_HTTP_TIMEOUT = 0.5


# --- a tiny misbehaving server ------------------------------------------------------------------

Answer = tuple[int, dict[str, str], bytes]


@dataclass
class FakeServer:
    url: str
    seen: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)


@contextmanager
def fake_server(answer: Callable[[str, str, dict[str, str]], Answer]) -> Iterator[FakeServer]:
    """Answer every request (any method) with ``answer(method, path, headers)``."""
    server_box: list[FakeServer] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def __getattr__(self, name: str):
            if name.startswith("do_"):
                return self.respond
            raise AttributeError(name)

        def respond(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            self.rfile.read(length)
            headers = {key.lower(): value for key, value in self.headers.items()}
            server_box[0].seen.append((self.command, self.path, headers))
            status, extra, body = answer(self.command, self.path, headers)
            self.send_response(status)
            for key, value in {"Content-Length": str(len(body)), **extra}.items():
                if value:
                    self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server_box.append(FakeServer(f"http://127.0.0.1:{httpd.server_address[1]}/"))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield server_box[0]
    finally:
        httpd.shutdown()
        httpd.server_close()


BILLION_LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        f'<!ENTITY lol{n} "{("&lol" + (str(n - 1) if n > 1 else "") + ";") * 10}">'.encode() for n in range(1, 10)
    )
    + b']>\n<multistatus xmlns="DAV:"><response><href>&lol9;</href></response></multistatus>'
)
EXTERNAL_ENTITY = (
    b'<?xml version="1.0"?>\n<!DOCTYPE m [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
    b'<multistatus xmlns="DAV:"><response><href>&xxe;</href></response></multistatus>'
)
HTML_PAGE = b"<!DOCTYPE html>\n<html><head><title>Welcome</title></head><body><p>Log in<br></body></html>"


# --- the protocol and the registry --------------------------------------------------------------


def test_every_dav_connector_is_registered_and_satisfies_the_protocol(kind: str) -> None:
    with connector_for(AccountConfig(kind=kind, url="https://dav.example.org/")) as instance:
        assert isinstance(instance, ItemStore)
        assert instance.kind == kind
    assert kind in CONNECTORS


# --- check and discovery ------------------------------------------------------------------------


def test_check_connects_and_counts_the_collections(connector: DavConnector, collection: RemoteCollection) -> None:
    result = connector.check()

    assert result.ok, result.message
    assert result.message.startswith("Connected as ")
    assert result.collections >= 1
    assert result.principal_url.startswith(connector.url)


def test_check_with_a_wrong_password_says_so_and_never_shows_it(radicale: DavServer, kind: str, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    with connector_for(config_for(radicale, kind, password="not-the-Pa55word")) as instance:
        result = instance.check()
        with pytest.raises(AuthError) as raised:
            instance.list_collections()

    assert not result.ok
    assert "401" in result.message and "password" in result.message
    for text in (result.message, str(raised.value), repr(raised.value), caplog.text):
        assert "not-the-Pa55word" not in text
        assert "Authorization" not in text


def test_credentials_in_the_url_are_used_and_never_shown(radicale: DavServer, kind: str) -> None:
    pasted = radicale.url.replace("http://", "http://alice:s3cret-pass@")
    with connector_for(AccountConfig(kind=kind, url=pasted)) as instance:
        assert instance.check().ok
    wrong = radicale.url.replace("http://", "http://alice:Wr0ng-Secret@")
    with connector_for(AccountConfig(kind=kind, url=wrong)) as instance:
        result = instance.check()
    assert not result.ok and "Wr0ng-Secret" not in result.message
    assert display_url(wrong) == radicale.url


def test_an_unreachable_server_fails_fast_with_a_diagnosis(kind: str, no_retries: None) -> None:
    port = free_port()  # nothing listens there any more
    config = AccountConfig(kind=kind, url=f"http://127.0.0.1:{port}/", username="alice", password="s3cret-pass")
    with connector_for(config) as instance:
        result = instance.check()
        with pytest.raises(TransientError):
            instance.list_collections()

    assert not result.ok
    assert result.message == f"Could not connect to 127.0.0.1:{port}: connection refused"


def test_a_silent_server_times_out_with_a_diagnosis(kind: str, no_retries: None) -> None:
    with socket.socket() as silent:  # accepts connections (backlog) but never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        with connector_for(AccountConfig(kind=kind, url=f"http://127.0.0.1:{port}/")) as instance:
            result = instance.check()

    # The diagnosis names the configured timeout: the connector gave up after it, not later.
    assert result.message == f"Timed out after 0.5 s: no answer from 127.0.0.1:{port}"


def test_discovery_from_the_root_url_finds_a_new_collection(
    connector: DavConnector, collection: RemoteCollection
) -> None:
    assert collection.url in {found.url for found in connector.list_collections()}


def test_discovery_from_a_pasted_collection_url_lists_just_that_collection(
    dav_server: DavServer, kind: str, collection: RemoteCollection
) -> None:
    with connector_for(config_for(dav_server, kind, url=collection.url)) as instance:
        assert [found.url for found in instance.list_collections()] == [collection.url]
        assert instance.check().ok


def test_discovery_from_a_collection_url_missing_its_trailing_slash(
    dav_server: DavServer, kind: str, collection: RemoteCollection
) -> None:
    with connector_for(config_for(dav_server, kind, url=collection.url.rstrip("/"))) as instance:
        assert [found.url for found in instance.list_collections()] == [collection.url]


def test_discovery_from_a_configured_principal_url(
    dav_server: DavServer, kind: str, collection: RemoteCollection
) -> None:
    principal = dav_server.url.rstrip("/") + dav_server.home
    with connector_for(config_for(dav_server, kind, url="http://127.0.0.1:9/", principal_url=principal)) as instance:
        assert collection.url in {found.url for found in instance.list_collections()}


def test_a_collection_url_that_404s_without_its_slash_is_retried_with_one(kind: str) -> None:
    resource = "calendar" if kind == "caldav" else "addressbook"
    namespace = "urn:ietf:params:xml:ns:caldav" if kind == "caldav" else "urn:ietf:params:xml:ns:carddav"
    body = (
        f'<multistatus xmlns="DAV:" xmlns:x="{namespace}"><response><href>/cal/work/</href><propstat><prop>'
        f"<resourcetype><collection/><x:{resource}/></resourcetype><displayname>Work</displayname>"
        "</prop><status>HTTP/1.1 200 OK</status></propstat></response></multistatus>"
    ).encode()

    def answer(method: str, path: str, headers: dict[str, str]) -> Answer:
        return (207, {"Content-Type": "application/xml"}, body) if path == "/cal/work/" else (404, {}, b"")

    with fake_server(answer) as server, connector_for(AccountConfig(kind=kind, url=server.url + "cal/work")) as c:
        assert [(found.url, found.name) for found in c.list_collections()] == [(server.url + "cal/work/", "Work")]


def test_a_url_without_dav_explains_what_was_tried(kind: str) -> None:
    with (
        fake_server(lambda method, path, headers: (404, {}, b"")) as server,
        connector_for(AccountConfig(kind=kind, url=server.url)) as instance,
    ):
        result = instance.check()
    service = "CalDAV" if kind == "caldav" else "CardDAV"
    assert result.message == (
        f"No {service} service found at {server.url}: the server answered 404 for PROPFIND on "
        f"/.well-known/{kind} and 404 for PROPFIND on /"
    )


# --- collections --------------------------------------------------------------------------------


def test_create_calendar_sets_name_colour_and_components(dav_server: DavServer) -> None:
    name = f"Tasks {uuid.uuid4().hex[:8]}"
    with connector_for(config_for(dav_server, "caldav")) as instance:
        created = instance.create_collection(name=name, kind="calendar", color="#3366ccff", components=("VTODO",))
        listed = {found.url: found for found in instance.list_collections()}[created.url]

    assert (listed.name, listed.color, listed.components) == (name, "#3366ccff", ("VTODO",))
    assert listed.kind == "calendar"


def test_create_address_book_sets_its_name(dav_server: DavServer) -> None:
    name = f"Friends {uuid.uuid4().hex[:8]}"
    with connector_for(config_for(dav_server, "carddav")) as instance:
        created = instance.create_collection(name=name, kind="addressbook")
        listed = {found.url: found for found in instance.list_collections()}[created.url]

    assert (listed.name, listed.kind) == (name, "addressbook")


# --- items --------------------------------------------------------------------------------------


def test_put_creates_an_item_at_a_new_href_with_an_etag(
    connector: DavConnector, collection: RemoteCollection, kind: str
) -> None:
    created = connector.put(collection, item(kind, "team-standup", "Stand-up"), uid="team-standup")

    assert created.href.startswith(urlsplit(collection.url).path)
    assert created.href.endswith(".ics" if kind == "caldav" else ".vcf")
    assert created.etag
    assert connector.list_items(collection).items == {created.href: created.etag}


def test_a_uid_unsafe_in_urls_gets_an_encoded_href(
    connector: DavConnector, collection: RemoteCollection, kind: str
) -> None:
    uid = "040000008200E0@outlook/with spaces?&#"
    created = connector.put(collection, item(kind, uid, "Imported"), uid=uid)

    assert "@" not in created.href and " " not in created.href and "?" not in created.href
    assert [fetched.href for fetched in connector.fetch(collection, [created.href])] == [created.href]


def test_creating_the_same_uid_again_is_a_precondition_failure(
    connector: DavConnector, collection: RemoteCollection, kind: str
) -> None:
    connector.put(collection, item(kind, "lunch", "Lunch"), uid="lunch")

    with pytest.raises(PreconditionFailed):
        connector.put(collection, item(kind, "lunch", "Lunch again"), uid="lunch")


def test_update_needs_the_current_etag(connector: DavConnector, collection: RemoteCollection, kind: str) -> None:
    created = connector.put(collection, item(kind, "review", "Review"), uid="review")
    updated = connector.put(collection, item(kind, "review", "Review moved"), href=created.href, etag=created.etag)

    with pytest.raises(PreconditionFailed):
        connector.put(collection, item(kind, "review", "Lost update"), href=created.href, etag=created.etag)
    [fetched] = connector.fetch(collection, [created.href])
    assert updated.href == created.href and updated.etag != created.etag
    assert b"Review moved" in fetched.data and fetched.etag == updated.etag


def test_an_item_the_server_refuses_is_rejected_with_a_reason(
    connector: DavConnector, collection: RemoteCollection
) -> None:
    with pytest.raises(ItemRejected) as raised:
        connector.put(collection, b"this is not a calendar or a vcard", uid="broken")

    assert "refused" in str(raised.value) and raised.value.status in (400, 403, 412, 415)


def test_fetch_returns_many_items_exactly_as_the_server_serves_them(
    dav_server: DavServer, connector: DavConnector, collection: RemoteCollection, kind: str
) -> None:
    for number in range(250):
        data = (
            event(f"ev-{number}", f"Event {number}")
            if kind == "caldav"
            else vcard(f"card-{number}", f"Person {number}", version=("3.0", "4.0")[number % 2])
        )
        connector.put(collection, data, uid=f"item-{number}")
    listing = connector.list_items(collection)

    fetched = {found.href: found for found in connector.fetch(collection, listing.items)}

    assert fetched.keys() == listing.items.keys() and len(fetched) == 250
    # Read back with a bare request from outside calsync's HTTP seam.
    login = base64.b64encode(f"{dav_server.username}:{dav_server.password}".encode()).decode()
    server = urlsplit(dav_server.url)
    plain = http.client.HTTPConnection(server.hostname or "", server.port, timeout=10)
    for href, found in fetched.items():
        plain.request("GET", href, headers={"Authorization": f"Basic {login}"})
        served = plain.getresponse()
        assert found.data == served.read()
        assert found.etag == listing.items[href] == served.headers["etag"]
    plain.close()


def test_fetch_skips_hrefs_that_are_gone(connector: DavConnector, collection: RemoteCollection, kind: str) -> None:
    kept = connector.put(collection, item(kind, "kept", "Kept"), uid="kept")
    missing = urlsplit(collection.url).path + "never-existed" + connector.extension

    assert [found.href for found in connector.fetch(collection, [kept.href, missing])] == [kept.href]


def test_a_sync_token_lists_exactly_what_changed_and_what_was_deleted(
    connector: DavConnector, collection: RemoteCollection, kind: str
) -> None:
    first = connector.put(collection, item(kind, "one", "One"), uid="one")
    second = connector.put(collection, item(kind, "two", "Two"), uid="two")
    connector.put(collection, item(kind, "three", "Three"), uid="three")
    full = connector.list_items(collection)

    changed = connector.put(collection, item(kind, "one", "One changed"), href=first.href, etag=first.etag)
    connector.delete(second.href, etag=second.etag)
    delta = connector.list_items(collection, sync_token=full.sync_token)

    assert full.complete and len(full.items) == 3 and full.sync_token
    assert not delta.complete
    assert delta.items == {first.href: changed.etag}
    assert delta.deleted == {second.href}
    assert delta.sync_token and delta.sync_token != full.sync_token


def test_an_invalid_sync_token_falls_back_to_a_full_listing(
    connector: DavConnector, collection: RemoteCollection, kind: str
) -> None:
    created = connector.put(collection, item(kind, "solo", "Solo"), uid="solo")

    listing = connector.list_items(collection, sync_token="http://radicale.org/ns/sync/expired-long-ago")

    assert listing.complete and listing.items == {created.href: created.etag} and listing.sync_token


def test_delete_needs_the_current_etag_and_tolerates_a_missing_item(
    connector: DavConnector, collection: RemoteCollection, kind: str
) -> None:
    created = connector.put(collection, item(kind, "gone", "Gone"), uid="gone")

    with pytest.raises(PreconditionFailed):
        connector.delete(created.href, etag='"an-old-etag"')
    connector.delete(created.href, etag=created.etag)
    connector.delete(created.href, etag=created.etag)  # already gone: fine

    assert connector.list_items(collection).items == {}


def test_vcards_of_version_3_and_4_round_trip(dav_server: DavServer) -> None:
    with connector_for(config_for(dav_server, "carddav")) as instance:
        book = instance.create_collection(name=f"Cards {uuid.uuid4().hex[:8]}", kind="addressbook")
        three = instance.put(book, vcard("v3", "Ann Three", version="3.0"), uid="v3")
        four = instance.put(book, vcard("urn:uuid:0f4c4f8e-v4", "Bob Four", version="4.0"), uid="urn:uuid:v4")
        fetched = {found.href: found for found in instance.fetch(book, [three.href, four.href])}

    assert b"VERSION:3.0\r\n" in fetched[three.href].data and b"FN:Ann Three\r\n" in fetched[three.href].data
    assert b"VERSION:4.0\r\n" in fetched[four.href].data and b"FN:Bob Four\r\n" in fetched[four.href].data
    assert {found.content_type for found in fetched.values()} == {"text/vcard"}


# --- older servers ------------------------------------------------------------------------------


def test_a_server_without_reports_is_listed_with_propfind_and_read_with_get(kind: str) -> None:
    data = item(kind, "old-server", "Old server")
    listing = (
        b'<multistatus xmlns="DAV:">'
        b"<response><href>/c/</href><propstat><prop><resourcetype><collection/></resourcetype></prop>"
        b"<status>HTTP/1.1 200 OK</status></propstat></response>"
        b'<response><href>/c/a</href><propstat><prop><getetag>"1"</getetag><resourcetype/></prop>'
        b"<status>HTTP/1.1 200 OK</status></propstat></response></multistatus>"
    )

    def answer(method: str, path: str, headers: dict[str, str]) -> Answer:
        if method == "PROPFIND" and path == "/c/":
            return 207, {"Content-Type": "application/xml"}, listing
        if method == "GET" and path == "/c/a":
            return 200, {"ETag": '"1"', "Content-Type": "text/plain"}, data
        return 501, {}, b""

    with fake_server(answer) as server, connector_for(AccountConfig(kind=kind, url=server.url)) as instance:
        collection = RemoteCollection(url=server.url + "c/", name="c", kind=COLLECTION_KIND[kind])
        found = instance.list_items(collection, sync_token="a-token-the-server-cannot-use")
        fetched = list(instance.fetch(collection, found.items))

    assert found.complete and found.items == {"/c/a": '"1"'}
    assert [(each.href, each.etag, each.data) for each in fetched] == [("/c/a", '"1"', data)]


@pytest.mark.parametrize("answered_etag", ["", 'W/"weak"'], ids=["no-etag", "weak-etag"])
def test_a_put_answered_without_a_strong_etag_reads_it_back(kind: str, answered_etag: str) -> None:
    def answer(method: str, path: str, headers: dict[str, str]) -> Answer:
        if method == "PUT" and headers.get("if-match") == "*":
            return 412, {}, b""  # the connector's probe: nothing is at a fresh href
        if method == "PUT":
            return 201, {"ETag": answered_etag}, b""
        body = f'<multistatus xmlns="DAV:"><response><href>{path}</href><propstat><prop><getetag>"stored"</getetag>'
        return 207, {}, (body + "</prop><status>HTTP/1.1 200 OK</status></propstat></response></multistatus>").encode()

    with fake_server(answer) as server, connector_for(AccountConfig(kind=kind, url=server.url)) as instance:
        collection = RemoteCollection(url=server.url + "c/", name="c", kind=COLLECTION_KIND[kind])
        created = instance.put(collection, item(kind, "meeting", "Meeting"), uid="meeting")
        updated = instance.put(collection, item(kind, "meeting", "Moved"), href=created.href, etag=created.etag)

    extension = ".ics" if kind == "caldav" else ".vcf"
    puts = [headers for method, path, headers in server.seen if method == "PUT" and "calsync-probe" not in path]
    assert created == updated == PutResult(f"/c/meeting{extension}", '"stored"')
    assert puts[0]["if-none-match"] == "*" and "if-match" not in puts[0]
    assert puts[1]["if-match"] == '"stored"' and "if-none-match" not in puts[1]


def test_where_conditional_writes_are_ignored_a_create_looks_first_and_never_overwrites(kind: str) -> None:
    # SOGo's way: every PUT lands, whatever If-Match or If-None-Match say.
    stored: set[str] = set()

    def answer(method: str, path: str, headers: dict[str, str]) -> Answer:
        if method == "PUT":
            stored.add(path)
            return 201, {"ETag": '"gcs00000000"'}, b""
        if method == "DELETE":
            stored.discard(path)
            return 204, {}, b""
        if path not in stored:
            return 404, {}, b""
        body = f'<multistatus xmlns="DAV:"><response><href>{path}</href><propstat><prop><getetag>"gcs00000000"'
        return (
            207,
            {},
            (body + "</getetag></prop><status>HTTP/1.1 200 OK</status></propstat></response></multistatus>").encode(),
        )

    with fake_server(answer) as server, connector_for(AccountConfig(kind=kind, url=server.url)) as instance:
        collection = RemoteCollection(url=server.url + "c/", name="c", kind=COLLECTION_KIND[kind])
        created = instance.put(collection, item(kind, "meeting", "Meeting"), uid="meeting")
        with pytest.raises(PreconditionFailed):
            instance.put(collection, item(kind, "meeting", "Overwrite"), uid="meeting")
        instance.put(collection, item(kind, "other", "Other"), uid="other")

    calls = [(method, path.rsplit("/", 1)[-1].split("-", 2)[:2]) for method, path, _ in server.seen]
    puts = [path for method, path, _ in server.seen if method == "PUT" and "calsync-probe" not in path]
    assert calls[:2] == [("PUT", ["calsync", "probe"]), ("DELETE", ["calsync", "probe"])]  # probed once
    assert stored == {created.href, created.href.replace("meeting", "other")}
    assert puts == [created.href, created.href.replace("meeting", "other")]


def journal(uid: str) -> bytes:
    return event(uid, "Diary").replace(b"VEVENT", b"VJOURNAL").replace(b"DTEND:20250301T100000Z\r\n", b"")


@pytest.mark.parametrize("collection_exists", [True, False], ids=["refused", "collection-gone"])
def test_a_404_to_a_create_is_a_refusal_while_the_collection_exists_and_not_found_once_it_is_gone(
    collection_exists: bool,
) -> None:
    # SOGo's way with a VJOURNAL: 404 "the requested object could not be found!" to the PUT.
    def answer(method: str, path: str, headers: dict[str, str]) -> Answer:
        if method == "PROPFIND" and path == "/c/" and collection_exists:
            body = b'<multistatus xmlns="DAV:"><response><href>/c/</href><propstat><prop><resourcetype><collection/>'
            ok = b"</resourcetype></prop><status>HTTP/1.1 200 OK</status></propstat></response></multistatus>"
            return 207, {}, body + ok
        return 404, {}, b"the requested object could not be found!"

    with fake_server(answer) as server, connector_for(AccountConfig(kind="caldav", url=server.url)) as instance:
        collection = RemoteCollection(url=server.url + "c/", name="c", kind="calendar")
        with pytest.raises(ItemRejected if collection_exists else NotFound) as refused:
            instance.put(collection, journal("diary"), uid="diary")

    assert refused.value.status == 404
    if collection_exists:
        assert str(refused.value) == (
            "The server refused this VJOURNAL object (answered 404 although the calendar exists);"
            " it stores no VJOURNAL objects in this calendar"
        )
    else:
        assert "does not exist on the server any more" in str(refused.value)
    assert [method for method, _, _ in server.seen][-2:] == ["PUT", "PROPFIND"]


def test_a_404_to_an_update_is_not_found_without_asking_about_the_collection() -> None:
    with (
        fake_server(lambda method, path, headers: (404, {}, b"")) as server,
        connector_for(AccountConfig(kind="caldav", url=server.url)) as instance,
    ):
        collection = RemoteCollection(url=server.url + "c/", name="c", kind="calendar")
        with pytest.raises(NotFound):
            instance.put(collection, journal("diary"), href="/c/diary.ics", etag='"1"')

    assert [method for method, _, _ in server.seen] == ["PUT"]


# The 412 bodies of a stale If-Match as DAViCal 1.1.12 and sabre/dav 1.8.12 send them.
DAVICAL_412 = b'<?xml version="1.0" encoding="utf-8" ?>\n<error xmlns="DAV:">\n  <if-match/>ETag mismatch\n</error>'
SABREDAV_412 = (
    b'<?xml version="1.0" encoding="utf-8"?>\n<d:error xmlns:d="DAV:" xmlns:s="http://sabredav.org/ns">'
    b"<s:exception>Sabre\\DAV\\Exception\\PreconditionFailed</s:exception><s:header>If-Match</s:header></d:error>"
)


@pytest.mark.parametrize("body", [DAVICAL_412, SABREDAV_412], ids=["davical", "sabredav"])
def test_a_412_naming_no_calendar_or_vcard_condition_is_a_lost_update(kind: str, body: bytes) -> None:
    answer = (412, {"Content-Type": "application/xml"}, body)
    with (
        fake_server(lambda method, path, headers: answer) as server,
        connector_for(AccountConfig(kind=kind, url=server.url)) as instance,
    ):
        collection = RemoteCollection(url=server.url + "c/", name="c", kind=COLLECTION_KIND[kind])
        with pytest.raises(PreconditionFailed):
            instance.put(collection, item(kind, "moved", "Moved"), href="/c/moved", etag='"old"')


# --- hostile and broken servers -----------------------------------------------------------------


@pytest.mark.timeout(60)  # an expanding bomb would hang here instead of failing the assertion
@pytest.mark.parametrize("body", [BILLION_LAUGHS, EXTERNAL_ENTITY], ids=["billion-laughs", "external-entity"])
def test_it_refuses_an_xml_bomb_at_once(kind: str, body: bytes) -> None:
    with (
        fake_server(lambda method, path, headers: (207, {"Content-Type": "application/xml"}, body)) as server,
        connector_for(AccountConfig(kind=kind, url=server.url)) as instance,
        pytest.raises(ProtocolError) as raised,
    ):
        instance.list_collections()

    assert "DTD or entities" in str(raised.value)


@pytest.mark.parametrize(
    ("body", "diagnosis"),
    [(HTML_PAGE, "an HTML page instead of WebDAV XML"), (b'{"error": "nope"}', "not well-formed XML")],
    ids=["html", "json"],
)
def test_it_refuses_a_body_that_is_not_xml(kind: str, body: bytes, diagnosis: str) -> None:
    with (
        fake_server(lambda method, path, headers: (207, {"Content-Type": "text/html"}, body)) as server,
        connector_for(AccountConfig(kind=kind, url=server.url)) as instance,
        pytest.raises(ProtocolError) as raised,
    ):
        instance.list_collections()

    assert diagnosis in str(raised.value)


def test_it_refuses_a_response_over_the_size_limit(kind: str, settings) -> None:
    settings.CALSYNC_HTTP_MAX_RESPONSE_BYTES = 10_000
    body = b'<multistatus xmlns="DAV:">' + b"<response><href>/x</href></response>" * 1000 + b"</multistatus>"
    with (
        fake_server(lambda method, path, headers: (207, {"Content-Type": "application/xml"}, body)) as server,
        connector_for(AccountConfig(kind=kind, url=server.url)) as instance,
        pytest.raises(ProtocolError) as raised,
    ):
        instance.list_collections()

    assert "limit of 10000 bytes" in str(raised.value)


def test_the_size_limit_also_holds_without_a_content_length_and_per_call() -> None:
    body = b"x" * 50_000
    with (
        fake_server(lambda method, path, headers: (200, {"Content-Length": "", "Connection": "close"}, body)) as srv,
        HttpClient() as client,
    ):
        assert len(client.request("GET", srv.url).content) == 50_000
        with pytest.raises(ProtocolError, match="limit of 4096 bytes"):
            client.request("GET", srv.url, max_bytes=4096)


def test_the_private_address_guard_blocks_loopback(radicale: DavServer, kind: str, settings) -> None:
    settings.CALSYNC_BLOCK_PRIVATE_ADDRESSES = True
    with connector_for(config_for(radicale, kind)) as instance:
        result = instance.check()
        with pytest.raises(ConfigError):
            instance.list_collections()

    assert not result.ok and "Refusing to connect to 127.0.0.1" in result.message


# --- the HTTP seam ------------------------------------------------------------------------------


def test_it_retries_a_503_for_a_read_but_never_for_an_unconditional_write(settings) -> None:
    settings.CALSYNC_HTTP_RETRIES = 2
    with (
        fake_server(lambda method, path, headers: (503, {"Retry-After": "0"}, b"busy")) as server,
        HttpClient() as client,
    ):
        with pytest.raises(TransientError, match="answered 503"):
            client.request("PROPFIND", server.url)
        with pytest.raises(TransientError):
            client.request("POST", server.url, content=b"{}")
        with pytest.raises(TransientError):
            client.request("PUT", server.url + "a.ics", headers={"If-Match": '"1"'}, content=b"x")

    assert [method for method, _path, _headers in server.seen] == ["PROPFIND"] * 3 + ["POST"] + ["PUT"] * 3


def test_a_retry_after_beyond_the_cap_is_handed_to_the_caller(settings) -> None:
    settings.CALSYNC_HTTP_RETRIES = 2
    with (
        fake_server(lambda method, path, headers: (429, {"Retry-After": "3600"}, b"")) as server,
        HttpClient() as client,
        pytest.raises(TransientError) as raised,
    ):
        client.request("GET", server.url)

    assert raised.value.retry_after == 3600 and len(server.seen) == 1


def test_digest_auth_can_be_chosen() -> None:
    challenge = 'Digest realm="feeds", nonce="abc123", qop="auth", algorithm=MD5'

    def answer(method: str, path: str, headers: dict[str, str]) -> Answer:
        if headers.get("authorization", "").startswith("Digest "):
            return 200, {}, b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"
        return 401, {"WWW-Authenticate": challenge}, b""

    with fake_server(answer) as server, HttpClient(username="ann", password="pw", auth_scheme="digest") as client:
        assert client.request("GET", server.url + "feed.ics").status == 200


def test_webcal_becomes_https_and_userinfo_is_dropped() -> None:
    assert normalize_url("webcal://ann:secret@calendar.example.org/feed.ics") == "https://calendar.example.org/feed.ics"
    assert display_url("https://ann:secret@example.org/feed.ics?token=abc") == "https://example.org/feed.ics"
