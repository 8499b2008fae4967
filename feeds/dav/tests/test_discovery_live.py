"""How phones and Thunderbird find calsync from the site address alone, through gunicorn.

Django's test client skips CSRF, so only a real server shows that a PROPFIND on
``/.well-known/caldav`` or ``/`` reaches the DAV layer instead of Django's CSRF page. The sequences
are those the clients document: RFC 6764 (well-known, then the context path) for DAVx5 and iOS,
and a PROPFIND on the bare host, which DAVx5, iOS and Thunderbird try first.
"""

from __future__ import annotations

import base64

import pytest
from defusedxml.ElementTree import fromstring

from feeds.dav.tests.conftest import make_user
from feeds.dav.tests.test_protocol import event

D, C = "{DAV:}", "{urn:ietf:params:xml:ns:caldav}"
PRINCIPAL_QUERY = b"""<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:"><d:prop><d:current-user-principal/></d:prop></d:propfind>"""
HOME_QUERY = b"""<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
  <d:prop><c:calendar-home-set/><d:current-user-principal/></d:prop></d:propfind>"""
OBJECT_QUERY = b"""<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:"><d:prop>
  <d:getetag/><d:getlastmodified/><d:getcontentlength/><d:getcontenttype/>
</d:prop></d:propfind>"""


@pytest.fixture
def fast_password_hashing() -> None:
    """Not here: gunicorn verifies app passwords with the production hashers, so they must use one."""


@pytest.fixture
def basic(live_app) -> dict[str, str]:
    """The Authorization header of ``dora``, who has an app password."""
    _, password = make_user("dora")
    return {"Authorization": "Basic " + base64.b64encode(f"dora:{password}".encode()).decode()}


def propfind(live_app, path: str, body: bytes, headers: dict[str, str] | None = None, depth: str = "0"):
    sent = {"Depth": depth, "Content-Type": "application/xml; charset=utf-8", **(headers or {})}
    return live_app.request("PROPFIND", path, body=body, headers=sent)


def href_of(body: bytes, prop: str) -> str:
    found = fromstring(body).find(f".//{D}propstat/{D}prop/{prop}/{D}href")
    assert found is not None, body
    return found.text or ""


@pytest.mark.parametrize("method", ["PROPFIND", "GET", "HEAD", "OPTIONS", "POST", "REPORT"])
def test_it_redirects_every_method_on_well_known_caldav_to_the_dav_root(live_app, method):
    status, headers, _ = live_app.request(method, "/.well-known/caldav", body=b"", headers={})

    assert status == 301, (method, status)
    assert headers["location"] == "/dav/"


@pytest.mark.parametrize("method", ["PROPFIND", "GET", "POST"])
def test_it_says_plainly_that_there_is_no_carddav(live_app, method):
    status, headers, body = live_app.request(method, "/.well-known/carddav", body=b"", headers={})

    assert status == 404
    assert "location" not in headers
    assert headers["content-type"].startswith("text/plain")
    assert b"CSRF" not in body


def test_it_leads_a_client_from_well_known_to_the_calendar_home(live_app, basic):
    status, headers, _ = propfind(live_app, "/.well-known/caldav", PRINCIPAL_QUERY)
    assert status == 301

    status, _, body = propfind(live_app, headers["location"], PRINCIPAL_QUERY, basic)
    assert status == 207
    principal = href_of(body, f"{D}current-user-principal")
    assert principal == "/dav/principals/dora/"

    status, _, body = propfind(live_app, principal, HOME_QUERY, basic)
    assert status == 207
    home = href_of(body, f"{C}calendar-home-set")
    assert home == "/dav/calendars/dora/"

    status, _, body = propfind(live_app, home, PRINCIPAL_QUERY, basic, depth="1")
    assert status == 207
    assert "/dav/calendars/dora/calendar/" in {h.text for h in fromstring(body).iter(f"{D}href")}


def test_it_answers_a_propfind_on_the_bare_host_with_the_principal_and_home(live_app, basic):
    status, headers, body = propfind(live_app, "/", HOME_QUERY, basic)

    assert status == 207, body[:300]
    assert "DAV" in {name.upper() for name in headers}
    assert href_of(body, f"{D}current-user-principal") == "/dav/principals/dora/"
    assert href_of(body, f"{C}calendar-home-set") == "/dav/calendars/dora/"


def test_it_challenges_a_propfind_on_the_bare_host_without_credentials(live_app):
    status, headers, body = propfind(live_app, "/", PRINCIPAL_QUERY)

    assert status == 401
    assert headers["www-authenticate"].startswith("Basic realm=")
    assert b"CSRF" not in body


def test_it_challenges_a_propfind_on_the_bare_host_with_a_wrong_password(live_app, basic):
    wrong = {"Authorization": "Basic " + base64.b64encode(b"dora:not-the-password").decode()}

    status, headers, _ = propfind(live_app, "/", PRINCIPAL_QUERY, wrong)

    assert status == 401
    assert "www-authenticate" in headers


def test_it_still_sends_a_browser_on_the_bare_host_to_log_in(live_app):
    status, headers, _ = live_app.request("GET", "/", headers={})

    assert status == 302
    assert "login" in headers["location"]


def test_it_still_checks_csrf_for_a_post_on_the_bare_host(live_app):
    status, _, _ = live_app.request(
        "POST", "/", body=b"", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )

    assert status == 403


def test_it_lists_objects_with_their_length_type_and_modification_time(live_app, basic):
    data = event("seen").encode()
    status, _, _ = live_app.request(
        "PUT", "/dav/calendars/dora/calendar/seen.ics", body=data, headers={**basic, "Content-Type": "text/calendar"}
    )
    assert status == 201

    status, _, body = propfind(live_app, "/dav/calendars/dora/calendar/", OBJECT_QUERY, basic, depth="1")

    assert status == 207
    response = next(r for r in fromstring(body).iter(f"{D}response") if r.findtext(f"{D}href").endswith("seen.ics"))
    prop = response.find(f"{D}propstat/{D}prop")
    assert prop.findtext(f"{D}getcontentlength") == str(len(data))
    assert prop.findtext(f"{D}getcontenttype").startswith("text/calendar")
    assert prop.findtext(f"{D}getlastmodified").endswith(" GMT")
