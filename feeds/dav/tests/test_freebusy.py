"""calendar-data expand (RFC 4791 §9.6.5) and the free-busy-query answer (§7.10)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import icalendar
from hypothesis import given, settings
from hypothesis import strategies as st

from feeds.dav.freebusy import BUSY_PRIORITY, merge_periods
from feeds.dav.query import expand, free_busy
from feeds.dav.tests.query_data import EVENT_1, EVENT_2, EVENT_3, TASK_1, calendar, event, todo, utc

BERLIN = ZoneInfo("Europe/Berlin")


def summary(expanded: icalendar.Calendar) -> list[tuple]:
    return [
        (str(c.get("SUMMARY", "")), c.decoded("DTSTART"), c.decoded("RECURRENCE-ID") if "RECURRENCE-ID" in c else None)
        for c in expanded.subcomponents
    ]


# --- expand -------------------------------------------------------------------------------------------------


def test_rfc_7_8_2_expands_a_series_with_a_moved_instance_into_utc():
    expanded = expand(calendar(EVENT_2), utc(2006, 1, 3), utc(2006, 1, 5))
    assert summary(expanded) == [
        ("Event #2", utc(2006, 1, 3, 17), utc(2006, 1, 3, 17)),
        ("Event #2 bis", utc(2006, 1, 4, 19), utc(2006, 1, 4, 17)),
    ]
    text = expanded.to_ical().decode()
    for absent in ("VTIMEZONE", "TZID", "RRULE", "RDATE", "EXDATE"):
        assert absent not in text
    assert "DTSTART:20060103T170000Z" in text and "RECURRENCE-ID:20060104T170000Z" in text
    assert "DURATION:PT1H" in text
    assert icalendar.Calendar.from_ical(text).get("PRODID") == "-//Example Corp.//CalDAV Client//EN"


def test_plain_components_outside_the_range_are_left_out():
    inside = expand(calendar(EVENT_1), utc(2006, 1, 2), utc(2006, 1, 3))
    assert summary(inside) == [("Event #1", utc(2006, 1, 2, 15), None)]
    assert "TZID" not in inside.to_ical().decode()
    assert expand(calendar(EVENT_1), utc(2006, 1, 3), utc(2006, 1, 4)).subcomponents == []


def test_excluded_instances_stay_out_and_alarms_come_along():
    series = event(
        "DTSTART;TZID=Europe/Berlin:20240301T090000",
        "DTEND;TZID=Europe/Berlin:20240301T100000",
        "RRULE:FREQ=DAILY;COUNT=5",
        "EXDATE;TZID=Europe/Berlin:20240303T090000",
        "SUMMARY:Stand-up",
        "BEGIN:VALARM\nACTION:DISPLAY\nDESCRIPTION:soon\nTRIGGER:-PT5M\nEND:VALARM",
    )
    expanded = expand(series, utc(2024, 3, 1), utc(2024, 3, 10))
    assert [s[1] for s in summary(expanded)] == [utc(2024, 3, d, 8) for d in (1, 2, 4, 5)]
    assert all(c.walk("VALARM") for c in expanded.subcomponents)
    assert {c.decoded("DTEND") - c.decoded("DTSTART") for c in expanded.subcomponents} == {timedelta(hours=1)}


def test_all_day_instances_keep_their_dates():
    expanded = expand(event("DTSTART;VALUE=DATE:20240301", "RRULE:FREQ=WEEKLY"), utc(2024, 3, 1), utc(2024, 3, 20))
    assert [s[1:] for s in summary(expanded)] == [(date(2024, 3, d), date(2024, 3, d)) for d in (1, 8, 15)]


def test_floating_times_are_placed_in_the_given_zone():
    floating = event("DTSTART:20240301T100000", "DURATION:PT1H", "RRULE:FREQ=DAILY")
    expanded = expand(floating, utc(2024, 7, 1), utc(2024, 7, 2), floating_tz=BERLIN)
    assert summary(expanded) == [("", utc(2024, 7, 1, 8), utc(2024, 7, 1, 8))]


def test_long_instances_are_expanded_once_each():
    # three-day instances straddle the windows the expansion walks through
    weekly = event("DTSTART:20240301T100000Z", "DURATION:P3D", "RRULE:FREQ=WEEKLY")
    expanded = expand(weekly, utc(2024, 3, 2), utc(2024, 4, 1))
    starts = [s[1] for s in summary(expanded)]
    assert starts == [utc(2024, 3, d, 10) for d in (1, 8, 15, 22, 29)]


def test_tasks_expand_with_their_due_times():
    chores = todo(
        "DTSTART;TZID=Europe/Berlin:20240301T080000",
        "DUE;TZID=Europe/Berlin:20240301T090000",
        "RRULE:FREQ=WEEKLY;COUNT=3",
        "SUMMARY:Bins",
    )
    expanded = expand(chores, utc(2024, 3, 7), utc(2024, 3, 9))
    (task,) = expanded.subcomponents
    assert (task.name, task.decoded("DUE"), task.decoded("RECURRENCE-ID")) == (
        "VTODO",
        utc(2024, 3, 8, 8),
        utc(2024, 3, 8, 7),
    )


# --- free-busy ----------------------------------------------------------------------------------------------


def periods(answer: bytes) -> tuple[icalendar.Component, list[tuple]]:
    (freebusy,) = icalendar.Calendar.from_ical(answer).walk("VFREEBUSY")
    found = freebusy.get("FREEBUSY", [])
    found = found if isinstance(found, list) else [found]
    return freebusy, [(p.dt[0], p.dt[1], p.params["FBTYPE"]) for p in found]


def test_rfc_7_10_1_free_busy_of_the_appendix_calendar():
    now = utc(2006, 1, 4, 12)
    objects = [calendar(EVENT_1), calendar(EVENT_2), calendar(EVENT_3), calendar(TASK_1, timezones="")]
    freebusy, found = periods(free_busy(objects, utc(2006, 1, 4, 14), utc(2006, 1, 5, 22), now=now))
    assert found == [
        (utc(2006, 1, 4, 15), utc(2006, 1, 4, 16), "BUSY-TENTATIVE"),
        (utc(2006, 1, 4, 19), utc(2006, 1, 4, 20), "BUSY"),
        (utc(2006, 1, 5, 17), utc(2006, 1, 5, 18), "BUSY"),
    ]
    assert (freebusy.decoded("DTSTART"), freebusy.decoded("DTEND"), freebusy.decoded("DTSTAMP")) == (
        utc(2006, 1, 4, 14),
        utc(2006, 1, 5, 22),
        now,
    )
    assert freebusy.get("UID")


def test_transparent_and_cancelled_time_is_free_even_for_one_instance():
    objects = [
        event("DTSTART:20240301T090000Z", "DTEND:20240301T100000Z", "TRANSP:TRANSPARENT", uid="a"),
        event("DTSTART:20240301T100000Z", "DTEND:20240301T110000Z", "STATUS:CANCELLED", uid="b"),
        calendar(
            "BEGIN:VEVENT\nUID:c\nDTSTAMP:20240101T000000Z\nDTSTART:20240301T120000Z\nDURATION:PT1H\n"
            "RRULE:FREQ=DAILY;COUNT=3\nEND:VEVENT\nBEGIN:VEVENT\nUID:c\nDTSTAMP:20240101T000000Z\n"
            "RECURRENCE-ID:20240302T120000Z\nDTSTART:20240302T120000Z\nDURATION:PT1H\nSTATUS:CANCELLED\n"
            "END:VEVENT\n",
            timezones="",
        ),
    ]
    _, found = periods(free_busy(objects, utc(2024, 3, 1), utc(2024, 3, 4)))
    assert found == [(utc(2024, 3, d, 12), utc(2024, 3, d, 13), "BUSY") for d in (1, 3)]


def test_periods_merge_clip_and_the_stronger_kind_wins():
    objects = [
        event("DTSTART:20240301T100000Z", "DTEND:20240301T110000Z", uid="a"),
        event("DTSTART:20240301T103000Z", "DTEND:20240301T120000Z", uid="b"),
        event("DTSTART:20240301T120000Z", "DTEND:20240301T130000Z", uid="c"),
        event("DTSTART:20240301T104500Z", "DTEND:20240301T140000Z", "STATUS:TENTATIVE", uid="d"),
        event("DTSTART:20240301T220000Z", "DTEND:20240302T020000Z", uid="e"),
        event("DTSTART:20240301T150000Z", uid="zero-length"),
    ]
    _, found = periods(free_busy(objects, utc(2024, 3, 1), utc(2024, 3, 2)))
    assert found == [
        (utc(2024, 3, 1, 10), utc(2024, 3, 1, 13), "BUSY"),
        (utc(2024, 3, 1, 13), utc(2024, 3, 1, 14), "BUSY-TENTATIVE"),
        (utc(2024, 3, 1, 22), utc(2024, 3, 2), "BUSY"),
    ]


def test_all_day_events_and_stored_free_busy_count():
    holiday = event("DTSTART;VALUE=DATE:20240301", uid="h")
    published = calendar(
        "BEGIN:VFREEBUSY\nUID:f\nDTSTAMP:20240101T000000Z\n"
        "FREEBUSY;FBTYPE=BUSY-UNAVAILABLE:20240302T080000Z/PT4H\n"
        "FREEBUSY;FBTYPE=FREE:20240302T140000Z/PT1H\nEND:VFREEBUSY\n",
        timezones="",
    )
    _, found = periods(free_busy([holiday, published], utc(2024, 2, 28), utc(2024, 3, 5), floating_tz=BERLIN))
    assert found == [
        (utc(2024, 2, 29, 23), utc(2024, 3, 1, 23), "BUSY"),
        (utc(2024, 3, 2, 8), utc(2024, 3, 2, 12), "BUSY-UNAVAILABLE"),
    ]


def test_an_empty_calendar_is_free():
    freebusy, found = periods(free_busy([], utc(2024, 3, 1), utc(2024, 3, 2)))
    assert found == [] and freebusy.decoded("DTSTART") == utc(2024, 3, 1)


KINDS = st.sampled_from(sorted(BUSY_PRIORITY))


@st.composite
def busy_lists(draw):
    base = utc(2024, 3, 1)
    items = []
    for _ in range(draw(st.integers(0, 12))):
        start = draw(st.integers(0, 48))
        items.append(
            (base + timedelta(hours=start), base + timedelta(hours=start + draw(st.integers(1, 10))), draw(KINDS))
        )
    return items


def kind_at(items, moment: datetime) -> str | None:
    covering = [kind for begin, stop, kind in items if begin <= moment < stop]
    return max(covering, key=BUSY_PRIORITY.__getitem__, default=None)


@settings(max_examples=200, deadline=None)
@given(busy_lists())
def test_merged_periods_keep_every_busy_moment_with_its_strongest_kind(items):
    merged = merge_periods(items)
    assert all(begin < stop for begin, stop, _ in merged)
    for (_, stop, kind), (begin, _, next_kind) in pairwise(merged):
        assert stop < begin or (stop == begin and kind != next_kind)  # touching periods of a kind are joined
    base = utc(2024, 3, 1)
    for half_hours in range(2 * 60):
        moment = base + timedelta(minutes=30 * half_hours)
        assert kind_at(merged, moment) == kind_at(items, moment), moment
