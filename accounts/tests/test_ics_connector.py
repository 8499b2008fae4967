"""The ics connector against a real (tiny) HTTP feed host on loopback."""

from __future__ import annotations

import pytest
from icalendar import Calendar

from accounts.connectors import connector_for
from accounts.connectors.base import AccountConfig, AuthError, ConfigError, ProtocolError, RemoteCollection
from accounts.connectors.ics import ICSConnector
from accounts.connectors.icsfeed import parse_feed, split_feed
from calsync.testing import samples
from calsync.testing.feeds import FeedServer


def feed(*bodies: str, head: str = "") -> bytes:
    text = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//Feed//EN\r\nMETHOD:PUBLISH\r\n" + head
    return (text + "".join(bodies) + "END:VCALENDAR\r\n").encode()


def event(uid: str, summary: str = "Meeting", extra: str = "", start: str = "DTSTART:20300101T090000Z") -> str:
    uid_line = f"UID:{uid}\r\n" if uid else ""
    return (
        f"BEGIN:VEVENT\r\n{uid_line}DTSTAMP:20260101T000000Z\r\n{start}\r\nSUMMARY:{summary}\r\n{extra}END:VEVENT\r\n"
    )


@pytest.fixture
def server():
    with FeedServer() as running:
        yield running


def ics(url: str, **config) -> ICSConnector:
    return connector_for(AccountConfig(kind="ics", url=url, **config))


def items_of(connector: ICSConnector) -> dict[str, bytes]:
    collection = connector.list_collections()[0]
    listing = connector.list_items(collection)
    return {href: item.data for href, item in ((i.href, i) for i in connector.fetch(collection, list(listing.items)))}


def test_a_feed_is_one_collection_with_one_item_per_uid_under_a_stable_href(server):
    server.body = feed(event("a@x"), event("b@x"))
    connector = ics(server.url())
    [collection] = connector.list_collections()
    assert collection.kind == "feed" and collection.url == server.url()
    listing = connector.list_items(collection)
    assert sorted(listing.items) == [server.url() + "#a@x", server.url() + "#b@x"]
    for data in items_of(connector).values():
        assert Calendar.from_ical(data).walk("VEVENT")


def test_dtstamp_and_sequence_churn_keeps_the_etag(server):
    server.body = feed(event("a@x", extra="SEQUENCE:1\r\n"))
    first = ics(server.url()).list_items(RemoteCollection(server.url(), "", "feed")).items
    server.body = feed(event("a@x", extra="SEQUENCE:7\r\n").replace("20260101T000000Z", "20270505T050505Z"))
    assert ics(server.url()).list_items(RemoteCollection(server.url(), "", "feed")).items == first
    server.body = feed(event("a@x", summary="Moved"))
    assert ics(server.url()).list_items(RemoteCollection(server.url(), "", "feed")).items != first


def test_an_unchanged_feed_answers_304_and_lists_nothing_new(server):
    server.body = feed(event("a@x"))
    connector = ics(server.url())
    collection = connector.list_collections()[0]
    token = connector.list_items(collection).sync_token
    assert token
    again = ics(server.url()).list_items(collection, sync_token=token)
    assert again.items == {} and again.complete is False


@pytest.mark.parametrize("scheme", ["basic", "digest"])
def test_basic_and_digest_authentication_work_and_a_wrong_password_is_an_auth_error(server, scheme):
    server.body, server.auth = feed(event("a@x")), scheme
    good = ics(server.url(), username=server.username, password=server.password)
    assert list(good.list_items(good.list_collections()[0]).items) == [server.url() + "#a@x"]
    bad = ics(server.url(), username=server.username, password="wrong")
    with pytest.raises(AuthError):
        bad.list_items(bad.list_collections()[0])
    assert ics(server.url(), username=server.username, password="wrong").check().ok is False


def test_webcal_urls_are_accepted(server):
    server.body = feed(event("a@x"))
    connector = ics(server.url().replace("http://", "webcal://"))
    assert len(items_of(connector)) == 1


def test_google_x_wr_timezone_times_are_moved_into_that_zone(server):
    server.body = feed(event("g@x", start="DTSTART:20300601T070000Z"), head="X-WR-TIMEZONE:Europe/Berlin\r\n")
    [data] = items_of(ics(server.url())).values()
    calendar = Calendar.from_ical(data)
    start = calendar.walk("VEVENT")[0]["DTSTART"]
    assert str(start.dt.tzinfo) == "Europe/Berlin" and start.dt.hour == 9
    assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == ["Europe/Berlin"]
    assert b"X-WR-TIMEZONE" not in data


def test_windows_time_zone_names_become_iana_with_their_vtimezone(server):
    outlook_zone = samples.BERLIN.replace("Europe/Berlin", "W. Europe Standard Time")
    server.body = feed(outlook_zone, event("o@x", start="DTSTART;TZID=W. Europe Standard Time:20300601T090000"))
    [data] = items_of(ics(server.url())).values()
    assert b"W. Europe" not in data
    calendar = Calendar.from_ical(data)
    assert calendar.walk("VEVENT")[0]["DTSTART"].params["TZID"] == "Europe/Berlin"
    assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == ["Europe/Berlin"]


def test_a_zone_named_without_its_vtimezone_gets_one(server):
    server.body = feed(event("z@x", start="DTSTART;TZID=America/New_York:20300601T090000"))
    [data] = items_of(ics(server.url())).values()
    assert [tz["TZID"] for tz in Calendar.from_ical(data).walk("VTIMEZONE")] == ["America/New_York"]


def test_floating_all_day_and_dst_gap_times_are_kept_as_written(server):
    server.body = feed(
        samples.BERLIN,
        event("float@x", start="DTSTART:20300401T080000"),
        event("day@x", start="DTSTART;VALUE=DATE:20300415"),
        # 02:30 on the last Sunday of March does not exist in Berlin; the feed's words stand.
        event("gap@x", start="DTSTART;TZID=Europe/Berlin:20300331T023000"),
    )
    items = items_of(ics(server.url()))
    assert b"DTSTART:20300401T080000\r\n" in items[server.url() + "#float@x"]
    assert b"DTSTART;VALUE=DATE:20300415\r\n" in items[server.url() + "#day@x"]
    gap = items[server.url() + "#gap@x"]
    assert b"DTSTART;TZID=Europe/Berlin:20300331T023000\r\n" in gap and b"BEGIN:VTIMEZONE" in gap


def test_overrides_listed_before_their_master_travel_with_it_master_first(server):
    override = event(
        "r@x", summary="Moved", extra="RECURRENCE-ID:20300108T090000Z\r\n", start="DTSTART:20300108T100000Z"
    )
    master = event("r@x", summary="Weekly", extra="RRULE:FREQ=WEEKLY;COUNT=5\r\n")
    server.body = feed(override, master)
    [data] = items_of(ics(server.url())).values()
    events = Calendar.from_ical(data).walk("VEVENT")
    assert [str(e["SUMMARY"]) for e in events] == ["Weekly", "Moved"]


def test_a_zero_instance_rrule_is_listed_like_any_other_event(server):
    server.body = feed(event("zero@x", extra="RRULE:FREQ=DAILY;UNTIL=20200101T000000Z\r\n"))
    [data] = items_of(ics(server.url())).values()
    assert b"RRULE:FREQ=DAILY;UNTIL=20200101T000000Z" in data


def test_a_missing_uid_gets_one_derived_from_the_content_that_survives_downloads(server):
    server.body = feed(event("", summary="No UID"))
    first = ics(server.url()).list_items(RemoteCollection(server.url(), "", "feed")).items
    server.body = feed(event("", summary="No UID").replace("20260101T000000Z", "20260202T020202Z"))
    [(href, data)] = items_of(ics(server.url())).items()
    assert list(first) == [href] and "#calsync-" in href
    assert Calendar.from_ical(data).walk("VEVENT")[0]["UID"] == href.split("#", 1)[1]


def test_method_is_stripped_and_x_properties_are_kept(server):
    server.body = feed(
        event(
            "m@x",
            extra="X-CUSTOM;X-P=1:kept\r\nBEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT5M\r\nDESCRIPTION:x\r\nEND:VALARM\r\n",
        )
    )
    [data] = items_of(ics(server.url())).values()
    assert b"METHOD" not in data and b"X-CUSTOM;X-P=1:kept" in data and b"BEGIN:VALARM" in data


def test_an_html_page_answered_with_200_is_a_protocol_error(server):
    server.body, server.content_type = b"<!DOCTYPE html><html><body>Log in</body></html>", "text/html"
    connector = ics(server.url())
    with pytest.raises(ProtocolError, match="HTML page"):
        connector.list_items(connector.list_collections()[0])


def test_a_feed_over_the_size_limit_is_refused(server, settings):
    settings.CALSYNC_FEED_MAX_BYTES = 2048
    server.body = feed(*(event(f"{n}@x") for n in range(100)))
    connector = ics(server.url())
    with pytest.raises(ProtocolError, match="CALSYNC_FEED_MAX_BYTES"):
        connector.list_items(connector.list_collections()[0])


def test_a_missing_feed_is_a_config_error(server):
    server.status, server.body = 404, b"not found"
    with pytest.raises(ConfigError, match="404"):
        ics(server.url()).list_items(RemoteCollection(server.url(), "", "feed"))


def test_the_feed_is_read_only(server):
    connector = ics(server.url())
    collection = connector.list_collections()[0]
    for attempt in (
        lambda: connector.put(collection, b"x"),
        lambda: connector.delete(server.url() + "#a"),
        lambda: connector.create_collection(name="x", kind="calendar"),
    ):
        with pytest.raises(ConfigError, match="read-only"):
            attempt()


def test_splitting_keeps_every_sample_object_and_each_zone_once():
    objects = samples.calendar_objects(40)
    body = b"".join(o.split(b"END:VCALENDAR")[0].split(b"CALSCALE:GREGORIAN\r\n", 1)[1] for o in objects)
    items = split_feed(parse_feed(b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\n" + body + b"END:VCALENDAR\r\n"))
    assert len(items) == len(objects)
    for item in items:
        calendar = Calendar.from_ical(item.data)
        zones = [tz["TZID"] for tz in calendar.walk("VTIMEZONE")]
        assert len(zones) == len(set(zones))
