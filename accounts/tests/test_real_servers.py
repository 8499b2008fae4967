"""Smoke tests against the four production servers: SOGo, Cyrus, DAViCal and sabre/dav 1.8.

calsync's own CalDAV and CardDAV connectors discover alice's collections from the server's root,
then write, list, read, update and delete an item there. The quirks of
docs/refs/real-servers.md that show in a request or two are checked here with bare HTTP,
so the fact sheet stays a checked record: when a package update changes a behaviour, a test says so.
The servers are shared by the session, so every test uses its own UIDs.
"""

from __future__ import annotations

import base64
import http.client
import uuid
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from accounts.connectors import connector_for
from accounts.connectors.base import (
    AccountConfig,
    ItemRejected,
    ItemStore,
    NotFound,
    PreconditionFailed,
    RemoteCollection,
)
from calsync.testing.realservers import RealDavServer, ServerStartError
from calsync.testing.realservers.common import Instance, descendants, free_port, psql, start_apache
from calsync.testing.realservers.sogo import start_sogo

pytestmark = pytest.mark.realservers

SERVERS = ("sogo", "cyrus", "davical", "sabredav")


@pytest.fixture(params=SERVERS)
def server(request: pytest.FixtureRequest) -> RealDavServer:
    return request.getfixturevalue(request.param)


@pytest.fixture(params=["caldav", "carddav"])
def kind(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def connector(server: RealDavServer, kind: str) -> Iterator[ItemStore]:
    config = AccountConfig(kind=kind, url=server.url, username=server.username, password=server.password)
    with closing(connector_for(config)) as instance:
        yield instance


def default_collection(server: RealDavServer, connector: ItemStore, kind: str) -> RemoteCollection:
    path = server.calendar if kind == "caldav" else server.addressbook
    [found] = [each for each in connector.list_collections() if urlsplit(each.url).path == path]
    return found


def event(uid: str, summary: str, *, end: bool = True) -> bytes:
    dtend = "DTEND:20250301T100000Z\r\n" if end else ""
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calsync//real server tests//EN\r\n"
        f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20250101T090000Z\r\nDTSTART:20250301T090000Z\r\n{dtend}"
        f"SUMMARY:{summary}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    ).encode()


def vcard(uid: str, name: str) -> bytes:
    return (
        f"BEGIN:VCARD\r\nVERSION:3.0\r\nUID:{uid}\r\nFN:{name}\r\nN:{name};;;;\r\n"
        "EMAIL:someone@example.org\r\nEND:VCARD\r\n"
    ).encode()


def item(kind: str, uid: str, title: str) -> bytes:
    return event(uid, title) if kind == "caldav" else vcard(uid, title)


def raw(
    server: RealDavServer, method: str, path: str, body: bytes = b"", **headers: str
) -> tuple[int, dict[str, str], bytes]:
    """One bare request as alice, outside calsync's HTTP seam: what the server itself does."""
    login = base64.b64encode(f"{server.username}:{server.password}".encode()).decode()
    sent = {"Authorization": f"Basic {login}", **{key.replace("_", "-"): value for key, value in headers.items()}}
    parts = urlsplit(server.root)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    try:
        connection.request(method, path, body=body or None, headers=sent)
        response = connection.getresponse()
        return response.status, {key.lower(): value for key, value in response.getheaders()}, response.read()
    finally:
        connection.close()


def new_event(server: RealDavServer, title: str = "Quirk", *, end: bool = True) -> tuple[str, int, dict[str, str]]:
    uid = f"quirk-{uuid.uuid4().hex}"
    href = f"{server.calendar}{uid}.ics"
    status, headers, _ = raw(
        server, "PUT", href, event(uid, title, end=end), Content_Type="text/calendar; charset=utf-8"
    )
    return href, status, headers


# --- calsync's connectors, end to end -----------------------------------------------------------


def test_it_discovers_the_default_collection_from_the_dav_root_and_the_bare_host(
    server: RealDavServer, kind: str
) -> None:
    path = server.calendar if kind == "caldav" else server.addressbook
    for url in (server.url, server.root):
        config = AccountConfig(kind=kind, url=url, username=server.username, password=server.password)
        with closing(connector_for(config)) as instance:
            assert path in {urlsplit(found.url).path for found in instance.list_collections()}, url
            assert instance.check().ok


def test_it_writes_lists_reads_updates_and_deletes_an_item(
    server: RealDavServer, connector: ItemStore, kind: str
) -> None:
    collection = default_collection(server, connector, kind)
    uid = f"smoke-{uuid.uuid4().hex}"

    created = connector.put(collection, item(kind, uid, "Smoke test"), uid=uid)
    listed = connector.list_items(collection).items
    [fetched] = connector.fetch(collection, [created.href])
    updated = connector.put(collection, item(kind, uid, "Smoke moved"), href=created.href, etag=created.etag)
    with pytest.raises(PreconditionFailed):
        connector.put(collection, item(kind, uid, "Lost update"), href=created.href, etag=created.etag)
    [refetched] = connector.fetch(collection, [created.href])
    connector.delete(created.href, etag=updated.etag)

    # An ETag even where the server sends none on PUT (DAViCal's vCards): the connector reads it back.
    assert created.etag and listed[created.href] == created.etag
    assert b"Smoke test" in fetched.data and uid.encode() in fetched.data
    assert updated.href == created.href and updated.etag != created.etag
    assert b"Smoke moved" in refetched.data and refetched.etag == updated.etag
    assert created.href not in connector.list_items(collection).items


# --- the fact sheet's quirks, each in a request or two -------------------------------------------


def test_only_sogo_overwrites_an_existing_object_despite_if_none_match(server: RealDavServer) -> None:
    href, created, _ = new_event(server, "First")
    again, _, _ = raw(
        server,
        "PUT",
        href,
        event(href.rsplit("/", 1)[1][:-4], "Second"),
        If_None_Match="*",
        Content_Type="text/calendar",
    )
    _, _, stored = raw(server, "GET", href)

    assert created == 201
    if server.name == "sogo":
        assert again == 204 and b"SUMMARY:Second" in stored
    else:
        assert again == 412 and b"SUMMARY:First" in stored


def test_only_sogo_creates_an_object_despite_if_match_star(server: RealDavServer) -> None:
    uid = f"quirk-{uuid.uuid4().hex}"
    status, _, _ = raw(
        server,
        "PUT",
        f"{server.calendar}{uid}.ics",
        event(uid, "Nothing to match"),
        If_Match="*",
        Content_Type="text/calendar",
    )

    assert status == (201 if server.name == "sogo" else 412)


def test_davical_alone_sends_no_etag_when_a_vcard_is_put(server: RealDavServer) -> None:
    uid = f"quirk-{uuid.uuid4().hex}"
    status, headers, _ = raw(
        server, "PUT", f"{server.addressbook}{uid}.vcf", vcard(uid, "Etag Less"), Content_Type="text/vcard"
    )
    _, _, event_headers = new_event(server)

    assert status == 201 and "etag" in event_headers
    assert ("etag" in headers) == (server.name != "davical")


def test_sabredav_alone_has_no_sync_collection(server: RealDavServer) -> None:
    report = (
        b'<?xml version="1.0" encoding="utf-8"?><sync-collection xmlns="DAV:"><sync-token/>'
        b"<sync-level>1</sync-level><prop><getetag/></prop></sync-collection>"
    )
    status, _, body = raw(server, "REPORT", server.calendar, report, Depth="0", Content_Type="application/xml")

    if server.name == "sabredav":
        assert status == 403 and b"ReportNotSupported" in body
    else:
        assert status == 207 and b"sync-token" in body


def test_cyrus_alone_refuses_an_event_without_dtend_or_duration(server: RealDavServer) -> None:
    _, status, _ = new_event(server, "Open ended", end=False)

    assert status == (403 if server.name == "cyrus" else 201)


def test_a_second_href_with_an_existing_uid_is_refused_only_by_sogo_and_cyrus(server: RealDavServer) -> None:
    uid = f"quirk-{uuid.uuid4().hex}"
    statuses = [
        raw(server, "PUT", f"{server.calendar}{uid}-{copy}.ics", event(uid, "Twin"), Content_Type="text/calendar")[0]
        for copy in (1, 2)
    ]

    expected = {"sogo": 409, "cyrus": 403, "davical": 201, "sabredav": 201}[server.name]
    assert statuses == [201, expected]


def test_sogo_answers_a_calendar_query_with_only_a_vcalendar_filter_with_nothing(server: RealDavServer) -> None:
    href, _, _ = new_event(server, "Findable")
    query = (
        b'<?xml version="1.0" encoding="utf-8"?><C:calendar-query xmlns:D="DAV:" '
        b'xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/></D:prop>'
        b'<C:filter><C:comp-filter name="VCALENDAR"/></C:filter></C:calendar-query>'
    )
    status, _, body = raw(server, "REPORT", server.calendar, query, Depth="1", Content_Type="application/xml")

    assert status == 207
    assert (href.encode() in body) == (server.name != "sogo")


def test_sogo_alone_deletes_despite_a_stale_if_match(server: RealDavServer) -> None:
    # Not in the fact sheet: found here. A sync client cannot rely on If-Match to protect a DELETE.
    href, _, _ = new_event(server, "Still wanted")
    deleted, _, _ = raw(server, "DELETE", href, If_Match='"an-old-etag"')
    fetched, _, _ = raw(server, "GET", href)

    if server.name == "sogo":
        assert (deleted, fetched) == (204, 404)
    else:
        assert (deleted, fetched) == (412, 200)


WELL_KNOWN = {
    "sogo": ("/SOGo/dav", "/SOGo/dav"),
    "cyrus": ("/dav/calendars", "/dav/addressbooks"),
    "davical": ("/caldav.php/", "/caldav.php/"),
    "sabredav": ("/", "/"),
}


def test_well_known_redirects_where_the_fact_sheet_says(server: RealDavServer) -> None:
    for service, target in zip(("caldav", "carddav"), WELL_KNOWN[server.name], strict=True):
        status, headers, _ = raw(server, "GET", f"/.well-known/{service}")

        assert status == 301 and urlsplit(headers["location"]).path == target, service


def test_sogo_and_cyrus_serve_a_vcard_4_as_3(server: RealDavServer) -> None:
    uid = f"quirk-{uuid.uuid4().hex}"
    card = vcard(uid, "Four").replace(b"VERSION:3.0", b"VERSION:4.0")
    put, _, _ = raw(server, "PUT", f"{server.addressbook}{uid}.vcf", card, Content_Type="text/vcard")
    _, _, served = raw(server, "GET", f"{server.addressbook}{uid}.vcf")

    assert put == 201
    kept = b"VERSION:3.0" if server.name in ("sogo", "cyrus") else b"VERSION:4.0"
    assert kept in served


def test_cyrus_alone_refuses_an_empty_categories_and_a_vcard_without_uid(server: RealDavServer) -> None:
    uid = f"quirk-{uuid.uuid4().hex}"
    empty = event(uid, "Empty").replace(b"SUMMARY:", b"CATEGORIES:\r\nSUMMARY:")
    categories, _, _ = raw(server, "PUT", f"{server.calendar}{uid}.ics", empty, Content_Type="text/calendar")
    no_uid = vcard(uid, "Nameless").replace(f"UID:{uid}\r\n".encode(), b"")
    card, _, body = raw(server, "PUT", f"{server.addressbook}{uid}.vcf", no_uid, Content_Type="text/vcard")

    if server.name == "cyrus":
        assert (categories, card) == (403, 403) and b"valid-address-data" in body
    else:
        assert (categories, card) == (201, 201)


def test_a_vjournal_is_refused_by_sogo_and_by_sabredav_where_not_listed(server: RealDavServer) -> None:
    uid = f"quirk-{uuid.uuid4().hex}"
    journal = event(uid, "Diary").replace(b"VEVENT", b"VJOURNAL").replace(b"DTEND:20250301T100000Z\r\n", b"")
    status, _, _ = raw(server, "PUT", f"{server.calendar}{uid}.ics", journal, Content_Type="text/calendar")

    assert status == {"sogo": 404, "cyrus": 201, "davical": 201, "sabredav": 403}[server.name]


def test_a_vjournal_lands_where_the_calendar_lists_it_and_sogo_refuses_it_as_one_item(server: RealDavServer) -> None:
    config = AccountConfig(kind="caldav", url=server.url, username=server.username, password=server.password)
    uid = f"quirk-{uuid.uuid4().hex}"
    journal = event(uid, "Diary").replace(b"VEVENT", b"VJOURNAL").replace(b"DTEND:20250301T100000Z\r\n", b"")
    with closing(connector_for(config)) as instance:
        calendar = instance.create_collection(
            name=f"Diary {uuid.uuid4().hex[:8]}", kind="calendar", components=("VEVENT", "VTODO", "VJOURNAL")
        )
        if server.name != "sogo":
            written = instance.put(calendar, journal, uid=uid)
            [stored] = instance.fetch(calendar, [written.href])
            assert stored.data.count(b"BEGIN:VJOURNAL") == 1
            return
        with pytest.raises(ItemRejected) as refused:
            instance.put(calendar, journal, uid=uid)
        instance.put(calendar, event(uid, "Meeting"), uid=uid)  # the calendar is there and takes events
        assert raw(server, "DELETE", urlsplit(calendar.url).path)[0] in (200, 204)
        with pytest.raises(NotFound):  # a calendar that is really gone stays "gone"
            instance.put(calendar, journal, uid=f"{uid}-2")

    assert str(refused.value) == (
        "The server refused this VJOURNAL object (answered 404 although the calendar exists);"
        " it stores no VJOURNAL objects in this calendar"
    )


def test_sogo_gives_different_objects_the_same_etag(server: RealDavServer) -> None:
    etags = {new_event(server)[2].get("etag") for _ in range(2)}

    if server.name == "sogo":
        assert etags == {'"gcs00000000"'}
    else:
        assert len(etags) == 2


def test_sogo_ignores_the_component_set_asked_for_at_mkcalendar(server: RealDavServer) -> None:
    config = AccountConfig(kind="caldav", url=server.url, username=server.username, password=server.password)
    with closing(connector_for(config)) as instance:
        created = instance.create_collection(
            name=f"Tasks {uuid.uuid4().hex[:8]}", kind="calendar", components=("VTODO",)
        )
        listed = {found.url: found for found in instance.list_collections()}[created.url]

    assert listed.components == (("VEVENT", "VFREEBUSY", "VTODO") if server.name == "sogo" else ("VTODO",))


# --- the test peers themselves ------------------------------------------------------------------


def test_a_peer_that_cannot_start_fails_at_once_with_its_log_and_leaves_nothing_behind() -> None:
    instance = Instance("broken")
    with pytest.raises(ServerStartError) as raised:
        try:
            start_apache(instance, free_port(), "NoSuchDirective on", modules=[])
        finally:
            instance.close()

    assert "broken: apache2 exited with" in str(raised.value)
    assert "Invalid command 'NoSuchDirective'" in str(raised.value)
    assert all(process.poll() is not None for process in instance.processes)
    assert not instance.directory.exists()


def alive(pid: int) -> bool:
    """Running or asleep; a zombie (dead, waiting for init to reap it) does not count."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_stopping_sogo_leaves_no_process_and_no_database_behind() -> None:
    server = start_sogo()  # the slowest to stop: sogod's workers leave its process group
    assert server.instance is not None
    pids = [process.pid for process in server.instance.processes]
    pids += [child for pid in pids for child in descendants(pid)]
    databases = list(server.instance.databases)
    assert len(pids) > 3 and databases

    server.stop()

    assert [pid for pid in pids if alive(pid)] == []
    remaining = psql("postgres", "SELECT datname FROM pg_database").split()
    assert set(databases) & set(remaining) == set()
    assert not server.directory.exists()
