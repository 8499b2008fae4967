"""Rendering is pure: many objects in, one VCALENDAR out, readable by a second parser."""

from __future__ import annotations

import datetime as dt

import vobject
from hypothesis import given, settings
from hypothesis import strategies as st
from icalendar import Calendar

from calsync.testing import samples
from feeds.render import is_current, render_feed

NOW = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


def uids(data: bytes, kind: str = "VEVENT") -> list[str]:
    return sorted(str(c["UID"]) for c in Calendar.from_ical(data).walk(kind))


def test_each_zone_once_overrides_kept_and_a_second_parser_reads_the_same_events():
    objects = samples.calendar_objects(30)
    rendered = render_feed(objects, name="Work", include_todos=True, now=NOW)
    calendar = Calendar.from_ical(rendered.data)
    zones = [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")]
    assert zones == sorted(set(zones)) and "Europe/Berlin" in zones
    assert any("RECURRENCE-ID" in e for e in calendar.walk("VEVENT"))
    assert calendar.walk("VTODO")
    parsed = vobject.readOne(rendered.data.decode())
    second = sorted(str(e.uid.value) for e in parsed.vevent_list)
    assert second == sorted(str(e["UID"]) for e in calendar.walk("VEVENT"))
    assert sorted(str(t.uid.value) for t in parsed.vtodo_list) == uids(rendered.data, "VTODO")


def test_tasks_are_left_out_unless_asked_for():
    rendered = render_feed(samples.calendar_objects(10), include_todos=False, now=NOW)
    assert not Calendar.from_ical(rendered.data).walk("VTODO")
    assert b"METHOD" not in rendered.data


def past(uid: str, rule: str = "") -> bytes:
    return (
        f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20200101T000000Z\r\n"
        f"DTSTART:20200101T090000Z\r\nDURATION:PT1H\r\nSUMMARY:s\r\n{rule}END:VEVENT\r\nEND:VCALENDAR\r\n"
    ).encode()


def test_past_events_are_judged_by_their_occurrences():
    assert not is_current(past("old"), NOW)
    assert not is_current(past("ended", "RRULE:FREQ=DAILY;COUNT=3\r\n"), NOW)
    assert is_current(past("running", "RRULE:FREQ=WEEKLY\r\n"), NOW)
    rendered = render_feed([past("old"), past("running", "RRULE:FREQ=WEEKLY\r\n")], sync_all=False, now=NOW)
    assert uids(rendered.data) == ["running"] and rendered.events == 1


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=400), max_size=25, unique=True))
def test_rendering_any_selection_keeps_every_uid_and_every_referenced_zone_once(indexes):
    objects = [samples.calendar_objects(1 + n)[n] for n in indexes]
    rendered = render_feed(objects, include_todos=True, now=NOW)
    calendar = Calendar.from_ical(rendered.data)
    expected = set()
    for data in objects:
        expected |= {str(c["UID"]) for c in Calendar.from_ical(data).subcomponents if "UID" in c}
    assert {str(c["UID"]) for c in calendar.subcomponents if "UID" in c} == expected
    zones = [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")]
    assert len(zones) == len(set(zones))
    vobject.readOne(rendered.data.decode())
