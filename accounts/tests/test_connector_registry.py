"""Every connector in the registry keeps its protocol's contract, against a real peer.

``CONNECTORS`` (accounts/connectors/__init__.py) is the list: a kind added there without a peer
here fails ``test_every_registered_kind_has_a_peer_to_be_tested_against``. Item stores run
against Radicale and Xandikos (the ICS feed reads a Radicale calendar as the .ics it serves);
time-tracking APIs against the local Zammad and Kimai servers of calsync/testing/timesheets/,
one per module. The deeper behaviour of each kind has its own tests (test_connector_contract.py,
test_ics_connector.py, test_timesheet_connectors.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from accounts.connectors import CONNECTORS, connector_for, is_item_store, is_time_tracking, item_store_for
from accounts.connectors.base import (
    AccountConfig,
    AuthError,
    ConfigError,
    ItemStore,
    TimeTrackingApi,
)
from calsync.testing.servers import DavServer
from calsync.testing.timesheets import KimaiStandIn, ZammadStandIn

WRITABLE = {"caldav": "calendar", "carddav": "addressbook"}  # kind -> the collections it makes
READ_ONLY = {"ics"}
TIME_TRACKING = {"zammad", "kimai"}


def test_every_registered_kind_has_a_peer_to_be_tested_against():
    assert set(CONNECTORS) == set(WRITABLE) | READ_ONLY | TIME_TRACKING


@pytest.mark.parametrize("kind", CONNECTORS)
def test_every_registered_connector_is_an_item_store_or_a_time_tracking_api_never_both(kind):
    assert is_item_store(kind) != is_time_tracking(kind)
    assert is_item_store(kind) == (kind not in TIME_TRACKING)


@pytest.mark.parametrize("kind", sorted(TIME_TRACKING))
def test_a_time_tracking_account_is_refused_as_an_item_store(kind):
    with pytest.raises(ConfigError, match=f"A {kind} account has no calendars"):
        item_store_for(AccountConfig(kind=kind, url="https://tt.example.org/", password="token"))


# --- item stores ---------------------------------------------------------------------------------


def item(kind: str, uid: str, title: str) -> bytes:
    if kind == "carddav":
        return f"BEGIN:VCARD\r\nVERSION:3.0\r\nUID:{uid}\r\nFN:{title}\r\nN:{title};;;;\r\nEND:VCARD\r\n".encode()
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calsync//registry contract//EN\r\n"
        f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20250101T090000Z\r\nDTSTART:20250301T090000Z\r\n"
        f"DTEND:20250301T100000Z\r\nSUMMARY:{title}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    ).encode()


def store(server: DavServer, kind: str, url: str = "") -> ItemStore:
    config = AccountConfig(kind=kind, url=url or server.url, username=server.username, password=server.password)
    connector = item_store_for(config)
    assert isinstance(connector, ItemStore)
    return connector


@pytest.mark.parametrize("kind", sorted(WRITABLE))
def test_a_writable_item_store_lists_fetches_creates_updates_and_deletes(dav_server, kind):
    connector = store(dav_server, kind)
    try:
        assert connector.check().ok
        made = connector.create_collection(
            name=f"Registry {uuid.uuid4().hex[:8]}",
            kind=WRITABLE[kind],
            components=("VEVENT",) if kind == "caldav" else (),
        )
        assert made.url in {c.url for c in connector.list_collections()}

        created = connector.put(made, item(kind, "r-1", "First"), uid="r-1")
        assert connector.list_items(made).items == {created.href: created.etag}
        [fetched] = connector.fetch(made, [created.href])
        assert b"First" in fetched.data and fetched.href == created.href

        updated = connector.put(made, item(kind, "r-1", "Second"), href=created.href, etag=created.etag)
        assert updated.etag != created.etag
        assert b"Second" in next(iter(connector.fetch(made, [created.href]))).data

        connector.delete(created.href, etag=updated.etag)
        assert connector.list_items(made).items == {}
    finally:
        connector.close()


def test_the_read_only_item_store_reads_a_feed_and_refuses_every_write(radicale):
    dav = store(radicale, "caldav")
    calendar = dav.create_collection(name=f"Feed {uuid.uuid4().hex[:8]}", kind="calendar", components=("VEVENT",))
    dav.put(calendar, item("caldav", "f-1", "Published"), uid="f-1")
    dav.close()
    feed = store(
        radicale, "ics", url=calendar.url if "://" in calendar.url else radicale.url.rstrip("/") + calendar.url
    )
    try:
        assert feed.check().ok
        [collection] = feed.list_collections()
        listing = feed.list_items(collection)
        [only] = feed.fetch(collection, list(listing.items))
        assert b"Published" in only.data

        for write in (
            lambda: feed.put(collection, item("caldav", "f-2", "No")),
            lambda: feed.delete(only.href, etag=only.etag),
            lambda: feed.create_collection(name="No", kind="calendar"),
        ):
            with pytest.raises(ConfigError, match="read-only"):
                write()
    finally:
        feed.close()


# --- time-tracking APIs --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def time_tracking_servers() -> Iterator[dict[str, object]]:
    zammad, kimai = ZammadStandIn(), KimaiStandIn()
    zammad.add_user("agent@example.org", token="z-good-token-1")
    kimai.add_user("susan", timezone="Europe/Berlin", role="ROLE_SUPER_ADMIN", token="k-good-token-1")
    yield {"zammad": (zammad, "z-good-token-1"), "kimai": (kimai, "k-good-token-1")}
    zammad.stop()
    kimai.stop()


@pytest.mark.parametrize("kind", sorted(TIME_TRACKING))
def test_a_time_tracking_api_checks_its_token_and_never_echoes_a_wrong_one(time_tracking_servers, kind):
    server, token = time_tracking_servers[kind]
    good = connector_for(AccountConfig(kind=kind, url=server.url, password=token))
    bad = connector_for(AccountConfig(kind=kind, url=server.url, password="wrong-token-4711"))
    try:
        assert isinstance(good, TimeTrackingApi) and not isinstance(good, ItemStore)
        result = good.check()
        assert result.ok, result.message
        assert good.service in result.message
        with pytest.raises(AuthError) as refused:
            bad.check()
        assert refused.value.status == 401
        assert "wrong-token-4711" not in str(refused.value)
    finally:
        good.close()
        bad.close()
