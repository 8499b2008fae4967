"""Hostile bytes against the CalDAV server of the live application (gunicorn, as in production).

NUL bytes and invalid UTF-8 in a calendar object are refused with CALDAV:valid-calendar-data; a
name (URL path) with a control character or bytes that are not UTF-8 gets a DAV answer, a 400
with a DAV:error body, never Django's HTML 404 or a 500 from a database that cannot store NUL.
"""

from __future__ import annotations

import base64

import pytest
from defusedxml.ElementTree import fromstring

from feeds.dav.models import Calendar, CalendarObject
from feeds.dav.tests.conftest import make_user
from feeds.dav.tests.test_protocol import event

D, C = "{DAV:}", "{urn:ietf:params:xml:ns:caldav}"
VALID_NAME = "{http://calsync.invalid/ns/}valid-resource-name"
CALSYNC_MESSAGE = "{http://calsync.invalid/ns/}message"


@pytest.fixture
def fast_password_hashing() -> None:
    """Not here: gunicorn verifies app passwords with the production hashers, so they must use one."""


@pytest.fixture
def dav(live_app):
    """``dav(method, path, body, content_type)`` as the user ``mallory`` with an app password."""
    _, password = make_user("mallory")
    token = base64.b64encode(f"mallory:{password}".encode()).decode()

    def request(method: str, path: str, body: bytes = b"", content_type: str = "text/calendar; charset=utf-8"):
        headers = {"Authorization": f"Basic {token}", "Content-Type": content_type}
        return live_app.request(method, path, body=body, headers=headers)

    return request


def conditions(body: bytes) -> set[str]:
    root = fromstring(body)
    assert root.tag == f"{D}error"
    return {child.tag for child in root}


def test_it_refuses_an_object_with_a_nul_byte_as_invalid_calendar_data(dav):
    body = event("nul").replace("SUMMARY:Meeting", "SUMMARY:Meet\x00ing").encode()

    status, _headers, answer = dav("PUT", "/dav/calendars/mallory/calendar/nul.ics", body)

    assert status == 403
    assert f"{C}valid-calendar-data" in conditions(answer)
    assert not CalendarObject.objects.filter(uid="nul").exists()


def test_it_refuses_an_object_that_is_not_utf8_as_invalid_calendar_data(dav):
    body = event("latin").replace("SUMMARY:Meeting", "SUMMARY:Caf\xe9").encode("latin-1")

    status, _headers, answer = dav("PUT", "/dav/calendars/mallory/calendar/latin.ics", body)

    assert status == 403
    assert f"{C}valid-calendar-data" in conditions(answer)
    assert not CalendarObject.objects.filter(uid="latin").exists()


BAD_NAMES = ["a%00b.ics", "line%0Abreak.ics", "bell%07.ics", "del%7F.ics", "bad%FFutf8.ics", "c1%C2%85.ics"]


def test_it_answers_a_name_with_a_control_character_or_broken_utf8_with_a_dav_error(dav):
    answers = {}
    for name in BAD_NAMES:
        for method in ("PUT", "GET", "DELETE", "PROPFIND"):
            body = event("named").encode() if method == "PUT" else b""
            status, headers, answer = dav(method, f"/dav/calendars/mallory/calendar/{name}", body)
            valid = headers["content-type"].startswith("application/xml") and VALID_NAME in conditions(answer)
            answers[method, name] = (status, valid)

    assert answers == {key: (400, True) for key in answers}
    assert not CalendarObject.objects.exists()


def test_it_answers_a_calendar_name_with_a_nul_byte_with_a_dav_error(dav):
    status, _headers, answer = dav("MKCALENDAR", "/dav/calendars/mallory/evil%00cal/", b"", "application/xml")

    assert status == 400
    assert VALID_NAME in conditions(answer)


def test_a_multiget_href_with_a_nul_byte_is_missing_rather_than_an_error(dav):
    assert dav("PUT", "/dav/calendars/mallory/calendar/ok.ics", event("ok").encode())[0] == 201
    report = (
        b'<?xml version="1.0"?><C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
        b"<D:prop><D:getetag/></D:prop><D:href>/dav/calendars/mallory/calendar/ok.ics</D:href>"
        b"<D:href>/dav/calendars/mallory/calendar/x%00y.ics</D:href></C:calendar-multiget>"
    )

    status, _headers, answer = dav("REPORT", "/dav/calendars/mallory/calendar/", report, "application/xml")

    assert status == 207
    statuses = {item.findtext(f"{D}href"): item.findtext(f"{D}status") or "" for item in fromstring(answer)}
    assert "404" in statuses["/dav/calendars/mallory/calendar/x%00y.ics"]
    assert "404" not in statuses["/dav/calendars/mallory/calendar/ok.ics"]


WELL_FORMED_XML = "{http://calsync.invalid/ns/}well-formed-xml"
# DEL, a C1 control, a line break: XML carries them, a calendar list cannot show them.
BAD_DISPLAY_NAMES = ["Wo\x7frk", "Wo\x85rk", "Work&#10;Home"]


def displayname_body(root: str, name: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?><{root} xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
        f"<D:set><D:prop><D:displayname>{name}</D:displayname></D:prop></D:set></{root}>"
    ).encode()


def dav_error_of(answer: tuple[int, dict[str, str], bytes]) -> tuple[int, str, set[str]]:
    status, headers, body = answer
    return status, headers["content-type"].split(";")[0], conditions(body)


def test_it_answers_a_display_name_with_a_control_character_with_a_dav_error(dav):
    for name in BAD_DISPLAY_NAMES:
        made = dav("MKCALENDAR", "/dav/calendars/mallory/named/", displayname_body("C:mkcalendar", name))
        body = displayname_body("D:propertyupdate", name)
        patched = dav("PROPPATCH", "/dav/calendars/mallory/calendar/", body, "application/xml")

        assert dav_error_of(made) == (400, "application/xml", {VALID_NAME, CALSYNC_MESSAGE}), name
        assert dav_error_of(patched) == (400, "application/xml", {VALID_NAME, CALSYNC_MESSAGE}), name
    assert dav("PROPFIND", "/dav/calendars/mallory/named/", b"", "application/xml")[0] == 404
    assert not Calendar.objects.filter(display_name__startswith="Wo").exists()
    # U+0001 cannot be written in XML 1.0 at all, not even as a character reference.
    body = displayname_body("D:propertyupdate", "Wo&#1;rk")
    answer = dav("PROPPATCH", "/dav/calendars/mallory/calendar/", body, "application/xml")
    assert dav_error_of(answer) == (400, "application/xml", {WELL_FORMED_XML, CALSYNC_MESSAGE})
