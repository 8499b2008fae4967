"""Availability arithmetic: working hours across DST, buffer, notice, overlaps (pure, no database)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from booking.availability import Busy, Rules, check, parse_working_hours, slots, split, working_windows

BERLIN = ZoneInfo("Europe/Berlin")
EVERY_DAY_10_TO_18 = {day: [(time(10), time(18))] for day in range(7)}
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


def rules(**overrides) -> Rules:
    return Rules(**{"time_zone": "Europe/Berlin", "working_hours": EVERY_DAY_10_TO_18, **overrides})


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


def test_working_hours_keep_their_wall_time_on_both_dst_switch_days_in_berlin():
    spring = working_windows(rules(), date(2026, 3, 29))
    autumn = working_windows(rules(), date(2026, 10, 25))
    assert spring == [(datetime(2026, 3, 29, 8, tzinfo=UTC), datetime(2026, 3, 29, 16, tzinfo=UTC))]
    assert autumn == [(datetime(2026, 10, 25, 9, tzinfo=UTC), datetime(2026, 10, 25, 17, tzinfo=UTC))]


def test_a_working_range_up_to_midnight_spans_the_23_hour_day_exactly():
    night = rules(working_hours={6: [(time(0), None)]})  # Sunday 29 March 2026, all day
    [(start, end)] = working_windows(night, date(2026, 3, 29))
    assert end - start == timedelta(hours=23)


def test_a_free_slot_inside_working_hours_is_available():
    verdict = check(rules(), berlin(2026, 3, 10, 11), berlin(2026, 3, 10, 12), now=LONG_AGO, busy=[])
    assert (verdict.available, verdict.reason) == (True, "available")


def test_outside_working_hours_is_refused_with_that_reason():
    verdict = check(rules(), berlin(2026, 3, 10, 17, 30), berlin(2026, 3, 10, 18, 30), now=LONG_AGO, busy=[])
    assert (verdict.available, verdict.reason) == (False, "outside_working_hours")


def test_a_booking_inside_the_minimum_notice_is_refused():
    now = berlin(2026, 3, 10, 10)
    notice = rules(min_notice=timedelta(hours=2))
    assert check(notice, berlin(2026, 3, 10, 11), berlin(2026, 3, 10, 12), now=now, busy=[]).reason == "min_notice"
    assert check(notice, berlin(2026, 3, 10, 12), berlin(2026, 3, 10, 13), now=now, busy=[]).available


def test_the_buffer_keeps_free_time_around_a_busy_block_but_touching_ends_are_fine_without_it():
    busy = [Busy(berlin(2026, 3, 10, 12), berlin(2026, 3, 10, 13), "appointment", "7")]
    after = (berlin(2026, 3, 10, 13), berlin(2026, 3, 10, 14))
    assert check(rules(), *after, now=LONG_AGO, busy=busy).available
    verdict = check(rules(buffer=timedelta(minutes=15)), *after, now=LONG_AGO, busy=busy)
    assert (verdict.reason, [c.ref for c in verdict.conflicts]) == ("busy", ["7"])
    later = (berlin(2026, 3, 10, 13, 15), berlin(2026, 3, 10, 14))
    assert check(rules(buffer=timedelta(minutes=15)), *later, now=LONG_AGO, busy=busy).available


def test_slots_skip_busy_time_and_stop_at_closing():
    busy = [Busy(berlin(2026, 3, 10, 11), berlin(2026, 3, 10, 16), "event", "/cal/a.ics")]
    starts = slots(rules(step=timedelta(hours=1)), date(2026, 3, 10), timedelta(hours=1), now=LONG_AGO, busy=busy)
    assert [s.astimezone(BERLIN).hour for s in starts] == [10, 16, 17]


def test_working_hours_are_parsed_and_bad_ones_refused():
    assert parse_working_hours({"0": [["09:30", "24:00"]]}) == {0: [(time(9, 30), None)]}
    for bad in ({"7": [["09:00", "10:00"]]}, {"0": [["10:00", "09:00"]]}, {"0": [["9am", "10:00"]]}):
        with pytest.raises(ValueError):
            parse_working_hours(bad)


instants = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)).map(
    lambda moment: moment.replace(second=0, microsecond=0)
)
durations = st.integers(min_value=1, max_value=600).map(lambda minutes: timedelta(minutes=minutes))


@given(busy_start=instants, busy_length=durations, start=instants, length=durations, buffer=st.integers(0, 60))
def test_a_verdict_is_busy_exactly_when_the_buffered_intervals_overlap(busy_start, busy_length, start, length, buffer):
    always_open = rules(working_hours={d: [(time(0), None)] for d in range(7)}, buffer=timedelta(minutes=buffer))
    item = Busy(busy_start, busy_start + busy_length, "event", "x")
    verdict = check(always_open, start, start + length, now=LONG_AGO, busy=[item])
    pad = timedelta(minutes=buffer)
    overlaps = item.start < start + length + pad and item.end > start - pad
    assert verdict.available is not overlaps
    assert (verdict.reason == "busy") is overlaps


@given(
    day=st.dates(min_value=date(2026, 1, 1), max_value=date(2028, 12, 31)),
    zone=st.sampled_from(["Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "UTC"]),
)
def test_every_offered_slot_is_bookable_and_starts_at_a_local_wall_time_in_the_window(day, zone):
    week = rules(time_zone=zone, working_hours={d: [(time(9), time(17))] for d in range(7)})
    for start in slots(week, day, timedelta(minutes=45), now=LONG_AGO, busy=[]):
        local = start.astimezone(ZoneInfo(zone))
        assert local.date() == day and time(9) <= local.time() <= time(16, 15)
        assert check(week, start, start + timedelta(minutes=45), now=LONG_AGO, busy=[]).available


@given(start=instants, length=st.integers(1, 20_000), longest=st.integers(1, 3000))
def test_split_pieces_cover_the_interval_exactly_and_none_is_too_long(start, length, longest):
    end, cap = start + timedelta(minutes=length), timedelta(minutes=longest)
    pieces = list(split(start, end, cap))
    assert pieces[0][0] == start and pieces[-1][1] == end
    assert all(a[1] == b[0] for a, b in pairwise(pieces))
    assert all(timedelta(0) < e - s <= cap for s, e in pieces)
