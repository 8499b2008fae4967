"""/test and /collections against real servers: Radicale, Xandikos, and a closed port."""

from __future__ import annotations

import logging
import re
import uuid

import pytest
from rest_framework.test import APIClient

from accounts.connectors import connector_for
from accounts.connectors.base import AccountConfig, RemoteCollection
from accounts.models import Account, Collection
from accounts.services import account_create
from calsync.testing.servers import DavServer, free_port

pytestmark = pytest.mark.django_db


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def make_calendar(server: DavServer, name: str) -> RemoteCollection:
    config = AccountConfig(kind="caldav", url=server.url, username=server.username, password=server.password)
    connector = connector_for(config)
    try:
        return connector.create_collection(name=name, kind="calendar", components=("VEVENT",))
    finally:
        connector.close()


@pytest.fixture(autouse=True)
def local_servers_allowed(settings) -> None:
    """alice is not staff, and the real servers listen on loopback: the operator allows it by name,
    as a deployment would allow a LAN server (test_ssrf.py checks what happens without it)."""
    settings.CALSYNC_ALLOWED_PRIVATE_NETWORKS = ["127.0.0.1"]


@pytest.fixture
def quick_failures(settings) -> None:
    settings.CALSYNC_HTTP_TIMEOUT = 0.5
    settings.CALSYNC_HTTP_RETRIES = 0


def test_testing_an_unreachable_server_answers_200_with_a_diagnosis_quickly(django_user_model, quick_failures):
    alice = django_user_model.objects.create_user("alice")
    account = account_create(
        owner=alice, name="Gone", kind="caldav", url=f"http://127.0.0.1:{free_port()}/", password="pw-unreachable"
    )

    response = client_for(alice).post(f"/api/accounts/{account.pk}/test")

    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is False
    assert body["message"]
    assert body["checked_at"]
    assert "pw-unreachable" not in response.content.decode()
    assert "connection refused" in body["message"]
    account.refresh_from_db()
    assert (account.last_check_ok, account.last_check_message) == (False, body["message"])


def test_testing_with_a_wrong_password_is_ok_false_and_never_echoes_it(django_user_model, radicale, caplog):
    for logger_name in (None, "calsync.http"):
        caplog.set_level(logging.DEBUG, logger=logger_name)
    alice = django_user_model.objects.create_user("alice")
    account = account_create(
        owner=alice, name="Radicale", kind="caldav", url=radicale.url, username="alice", password="wrong-pass-9d2c"
    )

    response = client_for(alice).post(f"/api/accounts/{account.pk}/test")

    assert response.status_code == 200
    assert response.json()["ok"] is False
    assert response.json()["message"]
    assert "wrong-pass-9d2c" not in response.json()["message"]
    assert "wrong-pass-9d2c" not in response.content.decode()
    assert "wrong-pass-9d2c" not in caplog.text
    account.refresh_from_db()
    assert "wrong-pass-9d2c" not in account.last_check_message


def test_testing_with_the_right_password_is_ok(django_user_model, radicale):
    alice = django_user_model.objects.create_user("alice")
    account = account_create(
        owner=alice, name="Radicale", kind="caldav", url=radicale.url, username="alice", password="s3cret-pass"
    )

    response = client_for(alice).post(f"/api/accounts/{account.pk}/test")

    assert response.status_code == 200
    assert response.json()["ok"] is True, response.json()
    account.refresh_from_db()
    assert account.last_check_ok is True


def test_discovery_on_an_unreachable_server_is_a_502_that_keeps_the_stored_rows(django_user_model, quick_failures):
    alice = django_user_model.objects.create_user("alice")
    account = account_create(
        owner=alice, name="Gone", kind="caldav", url=f"http://127.0.0.1:{free_port()}/", password="pw-gone-5e1"
    )
    Collection.objects.create(account=account, url="/alice/work/", kind="calendar", display_name="Work")

    response = client_for(alice).get(f"/api/accounts/{account.pk}/collections")

    assert response.status_code == 502
    assert response.json()["detail"]
    assert "pw-gone-5e1" not in response.content.decode()
    assert list(Collection.objects.filter(account=account).values_list("url", flat=True)) == ["/alice/work/"]


def test_discovery_with_a_wrong_password_is_a_502_without_the_password(django_user_model, radicale):
    alice = django_user_model.objects.create_user("alice")
    account = account_create(
        owner=alice, name="Radicale", kind="caldav", url=radicale.url, username="alice", password="wrong-pass-0b7e"
    )

    response = client_for(alice).get(f"/api/accounts/{account.pk}/collections")

    assert response.status_code == 502
    assert "wrong-pass-0b7e" not in response.content.decode()


def test_discovery_on_a_real_server_stores_new_collections_and_removes_vanished_ones(django_user_model, dav_server):
    name = f"Discovered {uuid.uuid4().hex[:8]}"
    calendar = make_calendar(dav_server, name)
    alice = django_user_model.objects.create_user("alice")
    account = account_create(
        owner=alice,
        name="Server",
        kind="caldav",
        url=dav_server.url,
        username=dav_server.username,
        password=dav_server.password,
    )
    Collection.objects.create(account=account, url=f"{dav_server.url}vanished/", kind="calendar")

    response = client_for(alice).get(f"/api/accounts/{account.pk}/collections")

    assert response.status_code == 200, response.content
    found = {collection["url"]: collection for collection in response.json()}
    assert found[calendar.url]["display_name"] == name
    assert found[calendar.url]["kind"] == "calendar"
    assert "VEVENT" in found[calendar.url]["components"]
    assert f"{dav_server.url}vanished/" not in found
    stored = set(Collection.objects.filter(account=account).values_list("url", flat=True))
    assert stored == set(found)


def test_discovering_twice_keeps_the_collection_ids(django_user_model, dav_server):
    calendar = make_calendar(dav_server, f"Stable {uuid.uuid4().hex[:8]}")
    alice = django_user_model.objects.create_user("alice")
    account = account_create(
        owner=alice,
        name="Server",
        kind="caldav",
        url=dav_server.url,
        username=dav_server.username,
        password=dav_server.password,
    )
    client = client_for(alice)

    first = {c["url"]: c["id"] for c in client.get(f"/api/accounts/{account.pk}/collections").json()}
    second = {c["url"]: c["id"] for c in client.get(f"/api/accounts/{account.pk}/collections").json()}

    assert first[calendar.url] == second[calendar.url]
    assert Account.objects.get(pk=account.pk).collections.filter(url=calendar.url).count() == 1


def fill_address_book_and_calendar(server: DavServer, *, contacts: int, events: int) -> tuple[str, str]:
    """A fresh address book and calendar on ``server``; returns their URLs."""
    tag = uuid.uuid4().hex[:8]
    config = AccountConfig(kind="carddav", url=server.url, username=server.username, password=server.password)
    cards = connector_for(config)
    try:
        book = cards.create_collection(name=f"Friends {tag}", kind="addressbook")
        for number in range(contacts):
            uid = f"{tag}-card-{number}"
            card = f"BEGIN:VCARD\r\nVERSION:3.0\r\nUID:{uid}\r\nFN:Friend {number}\r\nN:{number};Friend;;;\r\n"
            card += "END:VCARD\r\n"
            cards.put(book, card.encode(), uid=uid)
    finally:
        cards.close()
    calendar = make_calendar(server, f"Work {tag}")
    dav = connector_for(
        AccountConfig(kind="caldav", url=server.url, username=server.username, password=server.password)
    )
    try:
        for number in range(events):
            uid = f"{tag}-event-{number}"
            event = (
                "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\n"
                f"UID:{uid}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20300101T0{number}0000Z\r\nDURATION:PT1H\r\n"
                "SUMMARY:Meeting\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
            )
            dav.put(calendar, event.encode(), uid=uid)
    finally:
        dav.close()
    return book.url, calendar.url


@pytest.mark.parametrize("kind", ["caldav", "carddav"])
def test_discovery_lists_address_books_and_calendars_with_their_item_counts(django_user_model, dav_server, kind):
    book, calendar = fill_address_book_and_calendar(dav_server, contacts=2, events=3)
    alice = django_user_model.objects.create_user("alice")
    account = account_create(
        owner=alice, name="Server", kind=kind, url=dav_server.url, username=dav_server.username,
        password=dav_server.password,
    )  # fmt: skip

    response = client_for(alice).get(f"/api/accounts/{account.pk}/collections")

    assert response.status_code == 200, response.content
    found = {collection["url"]: collection for collection in response.json()}
    assert (found[book]["kind"], found[book]["item_count"]) == ("addressbook", 2)
    assert (found[calendar]["kind"], found[calendar]["item_count"]) == ("calendar", 3)
    stored = client_for(alice).get(f"/api/accounts/{account.pk}/collections?discover=false").json()
    assert {c["url"]: c["item_count"] for c in stored}[book] == 2


def test_testing_the_connection_counts_calendars_and_address_books_with_their_items(django_user_model, dav_server):
    fill_address_book_and_calendar(dav_server, contacts=2, events=3)
    alice = django_user_model.objects.create_user("alice")
    account = account_create(
        owner=alice, name="Server", kind="caldav", url=dav_server.url, username=dav_server.username,
        password=dav_server.password,
    )  # fmt: skip

    body = client_for(alice).post(f"/api/accounts/{account.pk}/test").json()

    assert body["ok"] is True, body
    counted = re.search(
        r": (\d+) calendars? \((\d+) items?\), (\d+) address books? \((\d+) contacts?\)$", body["message"]
    )
    assert counted, body["message"]
    calendars, events, books, contacts = map(int, counted.groups())
    assert calendars >= 1 and events >= 3 and books >= 1 and contacts >= 2
    assert body["collections"] >= 2
