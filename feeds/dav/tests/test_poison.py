"""The CalDAV server with a poison calendar: queries and free-busy answer with bounded work.

A series too costly to expand is answered as stored (see ``feeds.dav.timerange.instances``): a
calendar-query includes it, ``expand`` returns it unexpanded, free-busy is busy for the whole range;
each time the object's href is logged. Memory is measured (tracemalloc); timings live in the bench.
"""

from __future__ import annotations

import base64
import logging
import tracemalloc
from datetime import UTC, datetime, timedelta

import icalendar
import pytest
from django.conf import global_settings

from calsync.testing.poison import poison_objects
from feeds.dav.tests.conftest import DavClient, make_user
from feeds.dav.tests.test_protocol import C, D, xml

PEAK_BYTES = 64 * 1024 * 1024  # generous: one unbounded expansion needs gigabytes
NOW = datetime.now(UTC).replace(microsecond=0)
START, END = f"{NOW:%Y%m%dT%H%M%SZ}", f"{NOW + timedelta(days=7):%Y%m%dT%H%M%SZ}"

QUERY = f"""<?xml version="1.0"?><C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
<D:prop><D:getetag/><C:calendar-data><C:expand start="{START}" end="{END}"/></C:calendar-data></D:prop>
<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">
<C:time-range start="{START}" end="{END}"/></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"""
FREE_BUSY = f"""<?xml version="1.0"?><C:free-busy-query xmlns:C="urn:ietf:params:xml:ns:caldav">
<C:time-range start="{START}" end="{END}"/></C:free-busy-query>"""


def busy_periods(body: bytes) -> list[tuple[datetime, datetime, str]]:
    [answer] = icalendar.Calendar.from_ical(body).walk("VFREEBUSY")
    found = answer.get("FREEBUSY", [])
    return [(p.dt[0], p.dt[1], str(p.params["FBTYPE"])) for p in (found if isinstance(found, list) else [found])]


def measured(call):
    tracemalloc.start()
    try:
        result = call()
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return result, peak


@pytest.fixture
def poisoned(alice: DavClient) -> dict[str, str]:
    """uid → href of each poison object in alice's calendar (the server stores them as they are)."""
    hrefs = {}
    for uid, data in poison_objects(NOW).items():
        href = f"{alice.home}calendar/{uid}.ics"
        assert alice.put(href, data).status_code == 201
        hrefs[uid] = href
    return hrefs


def test_a_calendar_query_includes_the_poison_series_as_stored_with_bounded_memory(alice, poisoned, caplog):
    with caplog.at_level(logging.WARNING, logger="feeds.dav.reports"):
        response, peak = measured(lambda: alice.report(alice.home + "calendar/", QUERY))
    assert response.status_code == 207 and peak < PEAK_BYTES
    found = {r.findtext(f"{D}href"): r.findtext(f".//{C}calendar-data") for r in xml(response).findall(f"{D}response")}
    assert set(found) == set(poisoned.values())
    for href in poisoned.values():
        assert "RRULE:FREQ=" in found[href]  # unexpanded: the client gets the series itself
        assert f"CalDAV: {href} (UID" in caplog.text


def test_a_free_busy_query_over_a_poison_calendar_is_busy_for_the_whole_range(alice, poisoned, caplog):
    with caplog.at_level(logging.WARNING, logger="feeds.dav.reports"):
        response, peak = measured(lambda: alice.report(alice.home + "calendar/", FREE_BUSY))
    assert response.status_code == 200 and peak < PEAK_BYTES
    assert busy_periods(response.content) == [(NOW, NOW + timedelta(days=7), "BUSY")]
    for href in poisoned.values():
        assert f"CalDAV free-busy: {href} (UID" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_the_live_server_answers_free_busy_over_a_poison_calendar(live_app, settings):
    settings.PASSWORD_HASHERS = global_settings.PASSWORD_HASHERS  # what gunicorn verifies with
    _, password = make_user("carol")
    token = base64.b64encode(f"carol:{password}".encode()).decode()
    auth = {"Authorization": f"Basic {token}"}
    home = "/dav/calendars/carol/calendar/"
    for uid, data in poison_objects(NOW).items():
        status, _, _ = live_app.request(
            "PUT", f"{home}{uid}.ics", body=data, headers={**auth, "Content-Type": "text/calendar"}
        )
        assert status == 201
    status, _, body = live_app.request(
        "REPORT", home, body=FREE_BUSY, headers={**auth, "Content-Type": "application/xml", "Depth": "1"}
    )
    assert status == 200
    assert busy_periods(body) == [(NOW, NOW + timedelta(days=7), "BUSY")]
    status, _, body = live_app.request(
        "REPORT", home, body=QUERY, headers={**auth, "Content-Type": "application/xml", "Depth": "1"}
    )
    assert status == 207 and body.count(b"RRULE:FREQ=") == 3
    assert f"{home}poison-secondly.ics (UID poison-secondly) not expanded" in live_app.output()
