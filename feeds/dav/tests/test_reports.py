"""REPORTs: sync-collection with tombstones, calendar-multiget, calendar-query, free-busy-query."""

from __future__ import annotations

from feeds.dav.tests.conftest import DavClient
from feeds.dav.tests.test_protocol import C, D, event, props_of, todo, xml

SYNC = """<?xml version="1.0"?><D:sync-collection xmlns:D="DAV:"><D:sync-token>{token}</D:sync-token>
<D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>"""

RECURRING = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n"
    "BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\nBEGIN:STANDARD\r\nDTSTART:19701025T030000\r\n"
    "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\n"
    "BEGIN:DAYLIGHT\r\nDTSTART:19700329T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\n"
    "TZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n"
    "BEGIN:VEVENT\r\nUID:weekly\r\nDTSTAMP:20300101T000000Z\r\nDTSTART;TZID=Europe/Berlin:20300107T090000\r\n"
    "DTEND;TZID=Europe/Berlin:20300107T100000\r\nRRULE:FREQ=WEEKLY\r\nEXDATE;TZID=Europe/Berlin:20300114T090000\r\n"
    "SUMMARY:Standup\r\nEND:VEVENT\r\n"
    "BEGIN:VEVENT\r\nUID:weekly\r\nDTSTAMP:20300101T000000Z\r\nRECURRENCE-ID;TZID=Europe/Berlin:20300121T090000\r\n"
    "DTSTART;TZID=Europe/Berlin:20300121T150000\r\nDTEND;TZID=Europe/Berlin:20300121T160000\r\n"
    "SUMMARY:Standup (moved)\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)


def sync(client: DavClient, token: str = "", path: str = "calendar/"):
    return client.report(client.home + path, SYNC.format(token=token))


def changes(response) -> tuple[dict[str, str], list[str], str]:
    root = xml(response)
    changed, deleted = {}, []
    for item in root.findall(f"{D}response"):
        href = item.findtext(f"{D}href")
        if item.find(f"{D}status") is not None and " 404 " in item.findtext(f"{D}status"):
            deleted.append(href)
        else:
            changed[href] = item.find(f".//{D}getetag").text
    return changed, deleted, root.findtext(f"{D}sync-token")


def test_sync_collection_reports_changes_and_tombstones_since_a_token(alice: DavClient):
    for uid in ("a", "b", "c"):
        alice.put(f"{alice.home}calendar/{uid}.ics", event(uid))
    first, deleted, token = changes(sync(alice))
    assert sorted(first) == [f"{alice.home}calendar/{u}.ics" for u in "abc"] and deleted == []
    nothing, deleted, same = changes(sync(alice, token))
    assert nothing == {} and deleted == [] and same == token
    new_etag = alice.put(f"{alice.home}calendar/b.ics", event("b", "Changed"))["ETag"]
    alice.delete(f"{alice.home}calendar/c.ics")
    changed, deleted, newer = changes(sync(alice, token))
    assert changed == {f"{alice.home}calendar/b.ics": new_etag}
    assert deleted == [f"{alice.home}calendar/c.ics"] and newer != token


def test_an_unknown_sync_token_is_a_valid_sync_token_error(alice: DavClient, bob: DavClient):
    assert xml(sync(alice, "http://calsync.invalid/ns/sync/999999-1")).find(f"{D}valid-sync-token") is not None
    _, _, bobs = changes(sync(bob))
    response = sync(alice, bobs)  # another calendar's token
    assert response.status_code == 403 and xml(response).find(f"{D}valid-sync-token") is not None


def test_multiget_returns_data_and_404_for_missing(alice: DavClient):
    alice.put(alice.home + "calendar/a.ics", event("a"))
    body = f"""<C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/>
    <C:calendar-data/></D:prop><D:href>{alice.home}calendar/a.ics</D:href><D:href>{alice.home}calendar/zz.ics</D:href>
    </C:calendar-multiget>"""
    response = alice.report(alice.home + "calendar/", body)
    found = props_of(response)
    assert found[alice.home + "calendar/a.ics"][f"{C}calendar-data"].text.replace("\n", "\r\n") == event("a")
    missing = [r for r in xml(response).findall(f"{D}response") if r.findtext(f"{D}href").endswith("zz.ics")]
    assert " 404 " in missing[0].findtext(f"{D}status")


def query(client: DavClient, filter_xml: str, path: str = "calendar/", data: str = "<C:calendar-data/>"):
    body = f"""<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/>
    {data}</D:prop><C:filter>{filter_xml}</C:filter></C:calendar-query>"""
    return props_of(client.report(client.home + path, body))


def in_range(start: str, end: str, comp: str = "VEVENT") -> str:
    return (
        f'<C:comp-filter name="VCALENDAR"><C:comp-filter name="{comp}">'
        f'<C:time-range start="{start}" end="{end}"/></C:comp-filter></C:comp-filter>'
    )


def test_calendar_query_time_range_expands_recurrences(alice: DavClient):
    alice.put(alice.home + "calendar/weekly.ics", RECURRING)
    alice.put(alice.home + "calendar/once.ics", event("once", start="20300301T100000Z"))
    names = lambda found: sorted(href.rsplit("/", 1)[1] for href in found)  # noqa: E731
    assert names(query(alice, in_range("20300107T000000Z", "20300108T000000Z"))) == ["weekly.ics"]
    # The excluded date matches nothing; the moved instance matches at its new time only.
    assert names(query(alice, in_range("20300114T000000Z", "20300115T000000Z"))) == []
    assert names(query(alice, in_range("20300121T070000Z", "20300121T090000Z"))) == []
    assert names(query(alice, in_range("20300121T130000Z", "20300121T150000Z"))) == ["weekly.ics"]
    assert names(query(alice, in_range("20300301T000000Z", "20300305T000000Z"))) == ["once.ics", "weekly.ics"]
    assert names(query(alice, '<C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"/></C:comp-filter>')) == [
        "once.ics",
        "weekly.ics",
    ]


def test_calendar_query_expand_returns_instances(alice: DavClient):
    alice.put(alice.home + "calendar/weekly.ics", RECURRING)
    found = query(
        alice,
        in_range("20300107T000000Z", "20300122T000000Z"),
        data='<C:calendar-data><C:expand start="20300107T000000Z" end="20300122T000000Z"/></C:calendar-data>',
    )
    data = found[alice.home + "calendar/weekly.ics"][f"{C}calendar-data"].text
    assert data.count("BEGIN:VEVENT") == 2 and "RRULE" not in data and "20300121T140000Z" in data


def test_calendar_query_text_match_and_tasks(alice: DavClient):
    alice.put(alice.home + "calendar/a.ics", event("a", "Dentist"))
    alice.put(alice.home + "calendar/b.ics", event("b", "Lunch"))
    alice.put(alice.home + "tasks/t.ics", todo("t"))
    text = (
        '<C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:prop-filter name="SUMMARY">'
        '<C:text-match collation="i;ascii-casemap">dENTIST</C:text-match></C:prop-filter></C:comp-filter>'
        "</C:comp-filter>"
    )
    assert list(query(alice, text)) == [alice.home + "calendar/a.ics"]
    tasks = '<C:comp-filter name="VCALENDAR"><C:comp-filter name="VTODO"/></C:comp-filter>'
    assert list(query(alice, tasks, path="tasks/")) == [alice.home + "tasks/t.ics"]


def test_free_busy_query(alice: DavClient):
    alice.put(alice.home + "calendar/weekly.ics", RECURRING)
    body = """<C:free-busy-query xmlns:C="urn:ietf:params:xml:ns:caldav">
    <C:time-range start="20300107T000000Z" end="20300115T000000Z"/></C:free-busy-query>"""
    response = alice.report(alice.home + "calendar/", body)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/calendar")
    text = response.content.decode()
    assert "BEGIN:VFREEBUSY" in text and "20300107T080000Z/20300107T090000Z" in text.replace("PT1H", "20300107T090000Z")
    assert "20300114T08" not in text  # EXDATE


def test_unsupported_report_and_bad_filter(alice: DavClient):
    response = alice.report(alice.home + "calendar/", '<D:expand-property xmlns:D="DAV:"/>')
    assert response.status_code == 403 and xml(response).find(f"{D}supported-report") is not None
    bad = alice.report(
        alice.home + "calendar/",
        """<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><C:filter>
        <C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="yesterday"/>
        </C:comp-filter></C:comp-filter></C:filter></C:calendar-query>""",
    )
    assert bad.status_code == 403


def test_a_time_range_without_a_component_type_matches_any_component(alice: DavClient):
    """Outside RFC 4791 section 9.7, but python-caldav sends it and Radicale answers it."""
    alice.put(alice.home + "calendar/weekly.ics", RECURRING)
    alice.put(alice.home + "calendar/once.ics", event("once", start="20300301T100000Z"))
    bare = '<C:comp-filter name="VCALENDAR"><C:time-range start="{}" end="{}"/></C:comp-filter>'
    found = query(alice, bare.format("20300301T000000Z", "20300302T000000Z"))
    assert list(found) == [alice.home + "calendar/once.ics"]
    assert list(query(alice, bare.format("20300114T000000Z", "20300115T000000Z"))) == []  # the EXDATE


def test_events_well_inside_the_range_match_without_being_parsed(alice: DavClient, monkeypatch):
    """Stored spans answer a plain VEVENT time-range query for events that lie wholly inside it."""
    from feeds.dav import reports

    for day in ("10", "15", "20"):
        alice.put(f"{alice.home}calendar/d{day}.ics", event(f"d{day}", start=f"202003{day}T100000Z"))
    alice.put(alice.home + "calendar/weekly.ics", RECURRING.replace("2030", "2020"))  # endless: parsed
    alice.put(alice.home + "calendar/edge.ics", event("edge", start="20200301T020000Z"))  # near the edge: parsed
    parsed = []
    real = reports.query.matches
    monkeypatch.setattr(
        reports.query, "matches", lambda f, cal, tz=None, **kw: parsed.append(cal) or real(f, cal, tz, **kw)
    )
    found = query(alice, in_range("20200301T000000Z", "20200401T000000Z"))
    assert sorted(href.rsplit("/", 1)[1] for href in found) == [
        "d10.ics",
        "d15.ics",
        "d20.ics",
        "edge.ics",
        "weekly.ics",
    ]
    assert sorted(str(cal.walk("VEVENT")[0]["UID"]) for cal in parsed) == ["edge", "weekly"]
