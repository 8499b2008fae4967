"""vCard versions are negotiated, so a vCard 4.0 contact stays 4.0 where the destination keeps it.

Cyrus stores vCard 4.0 but serves 3.0 unless asked (``address-data`` version, ``Accept``); it lists
4.0 in ``supported-address-data``. The engine asks for 4.0 only where the destination's probed
profile says it keeps a vCard 4 contact as written (a ``data:`` PHOTO, structured N and ADR):
Xandikos and sabre/dav do. Radicale cuts a ``data:`` URI at its comma, DAViCal escapes it and SOGo
converts 4.0 to 3.0 (/work/shared/refs/real-servers.md), so for them Cyrus serves its 3.0 — in
which a photo is base64 data that every server keeps.
"""

from __future__ import annotations

import uuid
from contextlib import closing

import pytest

from accounts.connectors import connector_for
from accounts.connectors.base import AccountConfig, RemoteCollection
from accounts.connectors.probe import probe_profile
from jobs.engines.dav import vcard_version_for

FIELDS = ("FN:Ada Lovelace", "N:Lovelace;Ada;;;", "EMAIL;TYPE=work:ada@example.org", "NOTE:Analytical engine")
KEEPS_VCARD_4 = {"radicale": False, "xandikos": True, "sabredav": True, "davical": False, "sogo": False}
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="


def vcard4(uid: str) -> bytes:
    lines = ["BEGIN:VCARD", "VERSION:4.0", f"UID:{uid}", *FIELDS, "TEL;TYPE=work:+44 20 7946 0000", "END:VCARD"]
    return ("\r\n".join(lines) + "\r\n").encode()


def vcard3_with_photo(uid: str) -> bytes:
    lines = ["BEGIN:VCARD", "VERSION:3.0", f"UID:{uid}", *FIELDS, f"PHOTO;ENCODING=b;TYPE=PNG:{PNG}", "END:VCARD"]
    return ("\r\n".join(lines) + "\r\n").encode()


def lines_of(data: bytes) -> set[str]:
    return set(data.replace(b"\r\n ", b"").decode().splitlines())


def config_of(server, kind: str = "carddav", vcard_version: str = "") -> AccountConfig:
    return AccountConfig(
        kind=kind, url=server.url, username=server.username, password=server.password, vcard_version=vcard_version
    )


def scratch_book(connector, name: str) -> RemoteCollection:
    return connector.create_collection(name=f"vcard-{name}-{uuid.uuid4().hex[:8]}", kind="addressbook")


def copy_from_cyrus(cyrus, target, data: bytes, uid: str) -> tuple[bytes, bytes]:
    """What the engine does for one contact: the source reads in the version the destination's probed
    profile calls for; returns the bytes read from Cyrus and the bytes the destination then stores."""
    wanted = vcard_version_for(probe_profile(config_of(target, "caldav")))
    with closing(connector_for(config_of(cyrus, vcard_version=wanted))) as source:
        book = scratch_book(source, "source")
        written = source.put(book, data, uid=uid)
        [read] = source.fetch(book, [written.href])
    with closing(connector_for(config_of(target))) as sink:
        landed_book = scratch_book(sink, "destination")
        landed = sink.put(landed_book, read.data, uid=uid)
        [back] = sink.fetch(landed_book, [landed.href])
    return read.data, back.data


@pytest.mark.parametrize("destination", sorted(KEEPS_VCARD_4))
def test_a_vcard_4_from_cyrus_stays_4_where_the_destination_keeps_it_faithfully(cyrus, destination, request):
    uid = f"ada-{uuid.uuid4().hex}"

    read, back = copy_from_cyrus(cyrus, request.getfixturevalue(destination), vcard4(uid), uid)

    if KEEPS_VCARD_4[destination]:
        assert b"VERSION:4.0" in read  # asked for: Cyrus alone would serve 3.0
        assert lines_of(read) <= lines_of(back), back
    else:
        assert b"VERSION:3.0" in read  # not asked for a conversion the destination would not keep
        assert {"FN:Ada Lovelace", "NOTE:Analytical engine"} <= lines_of(back)
        assert b"ada@example.org" in back and b"+44 20 7946 0000" in back and b"N:Lovelace;Ada" in back


def test_a_vcard_3_with_a_photo_from_cyrus_keeps_its_photo_in_radicale(cyrus, radicale):
    uid = f"ada-{uuid.uuid4().hex}"

    read, back = copy_from_cyrus(cyrus, radicale, vcard3_with_photo(uid), uid)

    assert b"VERSION:3.0" in read and b"data:image" not in read
    assert PNG.encode() in back.replace(b"\r\n ", b""), back


def test_a_server_that_lists_no_vcard_4_is_not_asked_for_a_conversion(radicale):
    uid = f"ada-{uuid.uuid4().hex}"
    with closing(connector_for(config_of(radicale, vcard_version="4.0"))) as connector:
        book = scratch_book(connector, "plain")
        written = connector.put(book, vcard4(uid).replace(b"VERSION:4.0", b"VERSION:3.0"), uid=uid)
        offered = connector.offers_vcard4(book.url)
        [read] = connector.fetch(book, [written.href])

    assert not offered
    assert b"VERSION:3.0" in read.data
