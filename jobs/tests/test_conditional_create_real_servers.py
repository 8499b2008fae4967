"""Creating where If-None-Match: * cannot be relied on, and listing where calendar-query cannot.

SOGo overwrites an existing object despite ``If-None-Match: *`` and answers a calendar-query
with only a VCALENDAR filter with nothing (/work/shared/refs/real-servers.md). The connector
finds the first out with one probe and then looks for an object before creating it; it lists
with sync-collection or PROPFIND, never with a calendar-query.
"""

from __future__ import annotations

import uuid
from contextlib import closing
from urllib.parse import urlsplit

import pytest

from accounts.connectors import connector_for
from accounts.connectors.base import AccountConfig, ItemStore, PreconditionFailed, RemoteCollection
from accounts.connectors.davitems import DavItems
from calsync.testing.memory import MemoryConnector, MemoryLinkStore, MemoryServer, RecordingProgress
from calsync.testing.realservers import RealDavServer
from jobs.reconcile.apply import PairSync
from jobs.reconcile.pair import Pair
from jobs.reconcile.plan import Mode

pytestmark = pytest.mark.realservers


def event(uid: str, summary: str, component: str = "VEVENT") -> bytes:
    when = (
        "DTSTART:20250301T090000Z\r\nDTEND:20250301T100000Z\r\n"
        if component == "VEVENT"
        else "DUE:20250301T090000Z\r\n"
    )
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calsync//tests//EN\r\n"
        f"BEGIN:{component}\r\nUID:{uid}\r\nDTSTAMP:20250101T000000Z\r\n{when}SUMMARY:{summary}\r\n"
        f"END:{component}\r\nEND:VCALENDAR\r\n"
    ).encode()


def calendar_of(server: RealDavServer, connector: ItemStore) -> RemoteCollection:
    [found] = [c for c in connector.list_collections() if urlsplit(c.url).path == server.calendar]
    return found


def caldav(server: RealDavServer) -> ItemStore:
    return connector_for(
        AccountConfig(kind="caldav", url=server.url, username=server.username, password=server.password)
    )


@pytest.mark.parametrize("name", ["sogo", "cyrus"])
def test_only_a_server_that_ignores_conditional_writes_gets_an_existence_check_before_create(
    request: pytest.FixtureRequest, name: str
) -> None:
    server: RealDavServer = request.getfixturevalue(name)
    with closing(caldav(server)) as connector:
        collection = calendar_of(server, connector)
        before = set(connector.list_items(collection).items)
        uid = f"probe-test-{uuid.uuid4().hex}"
        connector.put(collection, event(uid, "First"), uid=uid)

        with pytest.raises(PreconditionFailed):
            connector.put(collection, event(uid, "Second"), uid=uid)

        [stored] = connector.fetch(collection, [f"{server.calendar}{uid}.ics"])
        after = set(connector.list_items(collection).items)
        assert isinstance(connector, DavItems) and connector.check_before_create is (name == "sogo")
    assert b"SUMMARY:First" in stored.data
    assert after - before == {stored.href}  # the probe left nothing behind


def test_an_object_created_on_sogo_between_plan_and_apply_is_not_overwritten(sogo: RealDavServer) -> None:
    uid = f"meanwhile-{uuid.uuid4().hex}"
    source_server = MemoryServer("src")
    source_collection = source_server.add_collection("work")
    source_server.store(source_collection.url, f"{source_collection.url}{uid}.ics", event(uid, "From the source"))
    with closing(caldav(sogo)) as dest, closing(caldav(sogo)) as someone_else:
        collection = calendar_of(sogo, dest)
        pair = Pair(MemoryConnector(source_server), dest, source_collection, {"VEVENT": collection}, Mode.COPY)
        store, progress = MemoryLinkStore(), RecordingProgress()
        sync = PairSync(pair, store, progress)
        sync.prepare()
        someone_else.put(calendar_of(sogo, someone_else), event(uid, "Made on SOGo meanwhile"), uid=uid)

        sync.execute()

        [stored] = dest.fetch(collection, [f"{sogo.calendar}{uid}.ics"])
    assert b"SUMMARY:Made on SOGo meanwhile" in stored.data
    assert progress.counters["conflicts"] == 1 and "created" not in progress.counters
    assert [c["reason"] for c in store.conflicts] == ["appeared on the destination while this run was writing"]


def test_listing_a_sogo_calendar_finds_its_events_and_tasks_in_full_and_as_changes(sogo: RealDavServer) -> None:
    with closing(caldav(sogo)) as connector:
        collection = calendar_of(sogo, connector)
        start = connector.list_items(collection)
        tag = uuid.uuid4().hex
        written = {
            connector.put(collection, event(f"{kind}-{tag}-{n}", f"{kind} {n}", kind), uid=f"{kind}-{tag}-{n}").href
            for kind in ("VEVENT", "VTODO")
            for n in range(3)
        }

        full = connector.list_items(collection)
        changes = connector.list_items(collection, sync_token=start.sync_token)
        fetched = list(connector.fetch(collection, sorted(written)))

    assert written <= set(full.items) and full.complete
    assert written <= set(changes.items) | (set(full.items) if changes.complete else set())
    assert {b"BEGIN:VTODO" in item.data for item in fetched} == {True, False} and len(fetched) == 6
