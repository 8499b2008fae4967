"""The CalDAV server, request by request: discovery, collections, objects, errors (RFC 4791/4918/6764)."""

from __future__ import annotations

import base64

import pytest
from defusedxml.ElementTree import fromstring
from django.test import Client

from feeds.dav import auth
from feeds.dav.models import AppPassword, CalendarObject
from feeds.dav.tests.conftest import DavClient, make_user

D, C, CS = "{DAV:}", "{urn:ietf:params:xml:ns:caldav}", "{http://calendarserver.org/ns/}"


def event(uid: str, summary: str = "Meeting", start: str = "20300105T100000Z", extra: str = "") -> str:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:{uid}\r\nDTSTAMP:20300101T000000Z\r\nDTSTART:{start}\r\nDURATION:PT1H\r\nSUMMARY:{summary}\r\n"
        f"{extra}END:VEVENT\r\nEND:VCALENDAR\r\n"
    )


def todo(uid: str) -> str:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VTODO\r\n"
        f"UID:{uid}\r\nDTSTAMP:20300101T000000Z\r\nSUMMARY:Buy milk\r\nEND:VTODO\r\nEND:VCALENDAR\r\n"
    )


def xml(response):
    return fromstring(response.content)


def props_of(response) -> dict[str, dict[str, object]]:
    """href → {property tag: element} for the 200 propstats of a multistatus."""
    found: dict[str, dict[str, object]] = {}
    for item in xml(response).iter(f"{D}response"):
        href = item.findtext(f"{D}href")
        for propstat in item.findall(f"{D}propstat"):
            if " 200 " in propstat.findtext(f"{D}status"):
                found.setdefault(href, {}).update({p.tag: p for p in propstat.find(f"{D}prop")})
    return found


PROPFIND_DISCOVERY = """<?xml version="1.0"?><propfind xmlns="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
<prop><current-user-principal/><C:calendar-home-set/><principal-URL/><resourcetype/></prop></propfind>"""


def test_well_known_redirects_to_the_dav_root():
    response = Client().get("/.well-known/caldav")
    assert response.status_code == 301 and response["Location"] == "/dav/"


def test_discovery_from_the_root_to_the_calendars(alice: DavClient):
    root = alice.propfind("/dav/", PROPFIND_DISCOVERY)
    assert root.status_code == 207 and "calendar-access" in root["DAV"]
    principal = props_of(root)["/dav/"][f"{D}current-user-principal"].findtext(f"{D}href")
    assert principal == "/dav/principals/alice/"
    home = props_of(alice.propfind(principal, PROPFIND_DISCOVERY))[principal][f"{C}calendar-home-set"]
    assert home.findtext(f"{D}href") == "/dav/calendars/alice/"
    listing = props_of(
        alice.propfind(
            "/dav/calendars/alice/",
            PROPFIND_DISCOVERY.replace(
                "<resourcetype/>", "<resourcetype/><C:supported-calendar-component-set/><displayname/>"
            ),
            depth="1",
        )
    )
    calendars = {
        href: [c.get("name") for c in p[f"{C}supported-calendar-component-set"]]
        for href, p in listing.items()
        if p[f"{D}resourcetype"].find(f"{C}calendar") is not None
    }
    # Events and tasks live apart, so Apple clients put tasks in Reminders.
    assert calendars == {"/dav/calendars/alice/calendar/": ["VEVENT"], "/dav/calendars/alice/tasks/": ["VTODO"]}


def test_without_credentials_the_answer_is_401_with_a_basic_challenge():
    response = Client().generic("PROPFIND", "/dav/")
    assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Basic")


def test_wrong_and_revoked_passwords_are_refused(alice: DavClient):
    last = alice.password[-1]
    wrong = DavClient(alice.client, "alice", alice.password[:-1] + ("y" if last == "x" else "x"))  # never the same
    assert wrong.propfind("/dav/").status_code == 401
    assert alice.propfind("/dav/").status_code == 207
    AppPassword.objects.filter(user__username="alice").update(revoked_at="2030-01-01T00:00:00Z")
    assert alice.propfind("/dav/").status_code == 401  # a cached verification does not outlive revocation


def test_a_user_sees_nothing_of_another_users_calendars(alice: DavClient, bob: DavClient):
    alice.put("/dav/calendars/alice/calendar/a.ics", event("a"))
    for path in (
        "/dav/calendars/alice/",
        "/dav/calendars/alice/calendar/",
        "/dav/calendars/alice/calendar/a.ics",
        "/dav/principals/alice/",
    ):
        assert bob.propfind(path).status_code == 404
        assert bob.get(path).status_code == 404
    assert bob.put("/dav/calendars/alice/calendar/b.ics", event("b")).status_code == 404


def test_put_get_etag_and_conditional_writes(alice: DavClient):
    path = alice.home + "calendar/one.ics"
    created = alice.put(path, event("one"), **{"If-None-Match": "*"})
    assert created.status_code == 201
    etag = created["ETag"]
    fetched = alice.get(path)
    assert fetched.content == event("one").encode() and fetched["ETag"] == etag  # byte for byte
    assert alice.put(path, event("one"), **{"If-None-Match": "*"}).status_code == 412
    assert alice.put(path, event("one", "Moved"), **{"If-Match": '"stale"'}).status_code == 412
    updated = alice.put(path, event("one", "Moved"), **{"If-Match": etag})
    assert updated.status_code == 204 and updated["ETag"] != etag
    assert alice.delete(path, **{"If-Match": etag}).status_code == 412
    assert alice.delete(path, **{"If-Match": updated["ETag"]}).status_code == 204
    assert alice.get(path).status_code == 404


def test_head_and_options(alice: DavClient):
    path = alice.home + "calendar/h.ics"
    alice.put(path, event("h"))
    head = alice.request("HEAD", path)
    assert head.status_code == 200 and head.content == b"" and int(head["Content-Length"]) == len(event("h"))
    options = alice.request("OPTIONS", alice.home)
    assert "MKCALENDAR" in options["Allow"] and "calendar-access" in options["DAV"]


def test_it_does_not_offer_scheduling(alice: DavClient):
    """RFC 6638 is not implemented: nothing may make a client believe invitations are delivered."""
    dav_header = {token.strip() for token in alice.request("OPTIONS", alice.home)["DAV"].split(",")}
    principal = alice.propfind(
        "/dav/principals/alice/",
        '<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop>'
        "<C:schedule-inbox-URL/><C:schedule-outbox-URL/><C:schedule-default-calendar-URL/></D:prop></D:propfind>",
    )
    home = alice.propfind(alice.home, '<D:propfind xmlns:D="DAV:"><D:prop><D:resourcetype/></D:prop></D:propfind>', "1")

    assert not dav_header & {"calendar-auto-schedule", "calendar-schedule"}
    assert principal.status_code == 207 and props_of(principal) == {}
    kinds = {child.tag for kind in xml(home).iter(f"{D}resourcetype") for child in kind}
    assert not kinds & {f"{C}schedule-inbox", f"{C}schedule-outbox"}


@pytest.mark.parametrize(
    ("body", "condition"),
    [
        (event("m").replace("VERSION:2.0", "VERSION:2.0\r\nMETHOD:REQUEST"), "valid-calendar-object-resource"),
        ("BEGIN:VCALENDAR\r\nthis is not iCalendar", "valid-calendar-data"),
        (
            event("x").replace(
                "END:VCALENDAR", "BEGIN:VEVENT\r\nUID:other\r\nDTSTART:20300101T000000Z\r\nEND:VEVENT\r\nEND:VCALENDAR"
            ),
            "valid-calendar-object-resource",
        ),
        (todo("t"), "supported-calendar-component"),
    ],
    ids=["method", "malformed", "two-uids", "task-in-event-calendar"],
)
def test_bad_objects_are_refused_with_the_precondition_named(alice: DavClient, body: str, condition: str):
    response = alice.put(alice.home + "calendar/bad.ics", body)
    assert response.status_code == 403
    assert xml(response).find(f"{C}{condition}") is not None
    assert not CalendarObject.objects.exists()


def test_a_second_object_with_the_same_uid_is_a_uid_conflict(alice: DavClient):
    alice.put(alice.home + "calendar/first.ics", event("same"))
    response = alice.put(alice.home + "calendar/second.ics", event("same"))
    assert response.status_code == 403
    conflict = xml(response).find(f"{C}no-uid-conflict")
    assert conflict.findtext(f"{D}href") == "/dav/calendars/alice/calendar/first.ics"


def test_wrong_media_type_and_oversize_bodies(alice: DavClient, settings):
    wrong = alice.request("PUT", alice.home + "calendar/x.ics", event("x"), content_type="application/json")
    assert wrong.status_code == 415
    settings.CALSYNC_DAV_MAX_OBJECT_BYTES = 1024
    big = alice.put(alice.home + "calendar/big.ics", event("big", "x" * 2000))
    assert big.status_code == 403 and xml(big).find(f"{C}max-resource-size") is not None


def test_quota_exceeded_is_507(alice: DavClient, settings):
    settings.CALSYNC_DAV_QUOTA_BYTES = len(event("q1")) + 10
    assert alice.put(alice.home + "calendar/q1.ics", event("q1")).status_code == 201
    assert alice.put(alice.home + "calendar/q2.ics", event("q2")).status_code == 507
    assert alice.delete(alice.home + "calendar/q1.ics").status_code == 204
    assert alice.put(alice.home + "calendar/q2.ics", event("q2")).status_code == 201


def test_xml_bombs_and_broken_xml_are_refused(alice: DavClient):
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
        '<propfind xmlns="DAV:"><prop><displayname>&lol2;</displayname></prop></propfind>'
    )
    assert alice.propfind(alice.home, bomb).status_code == 400
    assert alice.propfind(alice.home, "<propfind").status_code == 400


def test_mkcalendar_with_components_and_properties(alice: DavClient):
    body = """<?xml version="1.0"?><C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"
    xmlns:I="http://apple.com/ns/ical/"><D:set><D:prop><D:displayname>Work</D:displayname>
    <I:calendar-color>#FF0000FF</I:calendar-color>
    <C:supported-calendar-component-set><C:comp name="VTODO"/></C:supported-calendar-component-set>
    </D:prop></D:set></C:mkcalendar>"""
    assert alice.mkcalendar(alice.home + "work/", body).status_code == 201
    assert alice.mkcalendar(alice.home + "work/", body).status_code == 405
    found = props_of(alice.propfind(alice.home + "work/"))[alice.home + "work/"]
    assert found[f"{D}displayname"].text == "Work"
    assert alice.put(alice.home + "work/t.ics", todo("t")).status_code == 201
    assert alice.put(alice.home + "work/e.ics", event("e")).status_code == 403
    assert alice.mkcalendar(alice.home + "appointments-x/").status_code == 403  # reserved for artists


def test_extended_mkcol_makes_a_calendar_and_plain_mkcol_is_refused(alice: DavClient):
    body = """<?xml version="1.0"?><D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop>
    <D:resourcetype><D:collection/><C:calendar/></D:resourcetype><D:displayname>Ext</D:displayname>
    </D:prop></D:set></D:mkcol>"""
    assert alice.request("MKCOL", alice.home + "ext/", body).status_code == 201
    assert alice.request("MKCOL", alice.home + "plain/").status_code == 403


def test_proppatch_is_all_or_nothing(alice: DavClient):
    body = """<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:I="http://apple.com/ns/ical/"
    xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop><D:displayname>Renamed</D:displayname>
    <C:calendar-description>Team things</C:calendar-description><I:calendar-order>3</I:calendar-order>
    </D:prop></D:set></D:propertyupdate>"""
    assert alice.request("PROPPATCH", alice.home + "calendar/", body).status_code == 207
    found = props_of(
        alice.propfind(
            alice.home + "calendar/",
            """<propfind xmlns="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"
        xmlns:I="http://apple.com/ns/ical/"><prop><displayname/><C:calendar-description/><I:calendar-order/></prop>
        </propfind>""",
        )
    )[alice.home + "calendar/"]
    assert [
        found[k].text
        for k in (f"{D}displayname", f"{C}calendar-description", "{http://apple.com/ns/ical/}calendar-order")
    ] == ["Renamed", "Team things", "3"]
    refused = alice.request(
        "PROPPATCH",
        alice.home + "calendar/",
        body.replace("Renamed", "Again").replace("<I:calendar-order>3</I:calendar-order>", "<D:resourcetype/>"),
    )
    statuses = {s.text for s in xml(refused).iter(f"{D}status")}
    assert statuses == {"HTTP/1.1 403 Forbidden", "HTTP/1.1 424 Failed Dependency"}
    name = props_of(alice.propfind(alice.home + "calendar/"))[alice.home + "calendar/"][f"{D}displayname"]
    assert name.text == "Renamed"


def test_delete_a_calendar(alice: DavClient):
    alice.put(alice.home + "calendar/a.ics", event("a"))
    assert alice.delete(alice.home + "calendar/").status_code == 204
    assert alice.propfind(alice.home + "calendar/").status_code == 404
    assert not CalendarObject.objects.exists()


def test_depth_one_lists_objects_with_etags_and_ctag_moves(alice: DavClient):
    body = f'<propfind xmlns="DAV:" xmlns:CS="{CS[1:-1]}"><prop><getetag/><CS:getctag/></prop></propfind>'
    before = props_of(alice.propfind(alice.home + "calendar/", body))[alice.home + "calendar/"][f"{CS}getctag"].text
    etag = alice.put(alice.home + "calendar/a.ics", event("a"))["ETag"]
    listing = props_of(alice.propfind(alice.home + "calendar/", body, depth="1"))
    assert listing[alice.home + "calendar/a.ics"][f"{D}getetag"].text == etag
    assert listing[alice.home + "calendar/"][f"{CS}getctag"].text != before


def test_unauthenticated_basic_header_variants_do_not_crash():
    for header in ("Basic !!!", "Bearer abc", "Basic " + base64.b64encode(b"nocolon").decode()):
        assert Client().generic("PROPFIND", "/dav/", headers={"Authorization": header}).status_code == 401


def test_verified_credentials_are_cached_so_the_hash_runs_once(alice: DavClient, monkeypatch):
    calls = []
    real = auth.check_password
    monkeypatch.setattr(auth, "check_password", lambda *a: calls.append(1) or real(*a))
    for _ in range(5):
        assert alice.propfind("/dav/").status_code == 207
    assert len(calls) <= 1


def test_another_user_name_with_my_password_is_refused(alice: DavClient):
    make_user("carol")
    assert DavClient(alice.client, "carol", alice.password).propfind("/dav/").status_code == 401
