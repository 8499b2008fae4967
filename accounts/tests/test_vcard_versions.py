"""vCard versions are negotiated, so a vCard 4.0 contact stays 4.0 where the destination keeps it.

Cyrus stores vCard 4.0 but serves 3.0 unless asked (``address-data`` version, ``Accept``); it lists
4.0 in ``supported-address-data``, so the CardDAV connector asks. The contact then lands on each
destination as 4.0: Radicale, Xandikos, sabre/dav and DAViCal keep it; SOGo converts it to 3.0
itself, keeping the fields it supports (/work/shared/refs/real-servers.md).
"""

from __future__ import annotations

import uuid
from contextlib import closing

import pytest

from accounts.connectors import connector_for
from accounts.connectors.base import AccountConfig, RemoteCollection

FIELDS = ("FN:Ada Lovelace", "N:Lovelace;Ada;;;", "EMAIL;TYPE=work:ada@example.org", "NOTE:Analytical engine")


def vcard4(uid: str) -> bytes:
    lines = ["BEGIN:VCARD", "VERSION:4.0", f"UID:{uid}", *FIELDS, "TEL;TYPE=work:+44 20 7946 0000", "END:VCARD"]
    return ("\r\n".join(lines) + "\r\n").encode()


def lines_of(data: bytes) -> set[str]:
    return set(data.replace(b"\r\n ", b"").decode().splitlines())


def contacts(server):
    config = AccountConfig(kind="carddav", url=server.url, username=server.username, password=server.password)
    return closing(connector_for(config))


def scratch_book(connector, name: str) -> RemoteCollection:
    return connector.create_collection(name=f"vcard-{name}-{uuid.uuid4().hex[:8]}", kind="addressbook")


@pytest.mark.parametrize("destination", ["radicale", "xandikos", "sabredav", "davical", "sogo"])
def test_a_vcard_4_from_cyrus_stays_4_where_the_destination_can_keep_it(cyrus, destination, request):
    target = request.getfixturevalue(destination)
    uid = f"ada-{uuid.uuid4().hex}"
    with contacts(cyrus) as source:
        book = scratch_book(source, "source")
        written = source.put(book, vcard4(uid), uid=uid)
        [read] = source.fetch(book, [written.href])
    with contacts(target) as sink:
        landed_book = scratch_book(sink, "destination")
        landed = sink.put(landed_book, read.data, uid=uid)
        [back] = sink.fetch(landed_book, [landed.href])

    assert b"VERSION:4.0" in read.data  # asked for: Cyrus alone would serve 3.0
    if destination == "sogo":
        assert "VERSION:3.0" in lines_of(back.data)
        assert {"FN:Ada Lovelace", "NOTE:Analytical engine"} <= lines_of(back.data)
        assert b"ada@example.org" in back.data and b"+44 20 7946 0000" in back.data and b"N:Lovelace;Ada" in back.data
    else:
        assert lines_of(read.data) <= lines_of(back.data), back.data  # DAViCal adds a REV, no more


def test_a_server_that_lists_no_vcard_4_is_not_asked_for_a_conversion(radicale):
    uid = f"ada-{uuid.uuid4().hex}"
    with contacts(radicale) as connector:
        book = scratch_book(connector, "plain")
        written = connector.put(book, vcard4(uid).replace(b"VERSION:4.0", b"VERSION:3.0"), uid=uid)
        offered = connector.offers_vcard4(book.url)
        [read] = connector.fetch(book, [written.href])

    assert not offered
    assert b"VERSION:3.0" in read.data
