"""The test servers can go away and come back: the same port, the same data (outage tests need it)."""

from __future__ import annotations

import pytest

from accounts.connectors import connector_for
from accounts.connectors.base import AccountConfig, TransientError
from calsync.testing.servers import start_radicale, start_xandikos

EVENT = (
    b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:kept@calsync.test\r\n"
    b"DTSTAMP:20260101T000000Z\r\nDTSTART:20300101T090000Z\r\nDURATION:PT1H\r\nSUMMARY:Kept\r\nEND:VEVENT\r\n"
    b"END:VCALENDAR\r\n"
)


@pytest.mark.parametrize("start", [start_radicale, start_xandikos], ids=["radicale", "xandikos"])
def test_a_halted_server_refuses_connections_and_restarts_on_its_port_with_its_data(start, settings):
    settings.CALSYNC_HTTP_RETRIES = 0
    server = start()
    try:
        config = AccountConfig(kind="caldav", url=server.url, username=server.username, password=server.password)
        with connector_for(config) as dav:
            calendar = dav.create_collection(name="Outage", kind="calendar", components=("VEVENT",))
            dav.put(calendar, EVENT, uid="kept@calsync.test")

        server.halt()
        with connector_for(config) as dav, pytest.raises(TransientError, match="connection refused"):
            dav.list_items(calendar)
        server.restart()

        with connector_for(config) as dav:
            assert len(dav.list_items(calendar).items) == 1
    finally:
        server.stop()
