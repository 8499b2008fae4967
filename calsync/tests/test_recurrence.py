"""The one bounded recurrence expander (calsync.lib.recurrence): pure, no database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count

import icalendar
import pytest
import recurring_ical_events
from hypothesis import given, settings
from hypothesis import strategies as st

from calsync.lib import recurrence
from calsync.lib.recurrence import INSTANCES, STEPS, TIME, Limits, RecurrenceError, counted_last_start, expand, occurs

NOW = datetime(2026, 12, 6, 12, tzinfo=UTC)
WINDOW = (NOW - timedelta(days=1), NOW + timedelta(days=401))


def series(*lines: str, start: datetime = NOW, uid: str = "s") -> icalendar.Calendar:
    body = "\r\n".join(
        ["BEGIN:VEVENT", f"UID:{uid}", f"DTSTART:{start:%Y%m%dT%H%M%SZ}", "DURATION:PT30M", *lines, "END:VEVENT"]
    )
    return icalendar.Calendar.from_ical(f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\n{body}\r\nEND:VCALENDAR\r\n")


def starts(components) -> list[datetime]:
    return [c["DTSTART"].dt for c in components]


def test_it_refuses_a_secondly_rule_without_an_end_before_expanding_anything():
    found = expand(series("RRULE:FREQ=SECONDLY"), *WINDOW)
    assert (found.exceeded, found.instances) == (STEPS, [])
    assert found.detail.startswith("its rules need about 34,")  # million steps to the end of the window


def test_a_billion_count_does_not_make_a_dense_rule_cheap():
    assert expand(series("RRULE:FREQ=SECONDLY;COUNT=1000000000"), *WINDOW).exceeded == STEPS


def test_a_minutely_rule_from_years_ago_is_refused_even_for_a_short_window():
    old = series("RRULE:FREQ=MINUTELY", start=NOW - timedelta(days=3 * 365))
    assert expand(old, NOW, NOW + timedelta(hours=1)).exceeded == STEPS


def test_a_dense_rule_within_the_step_limit_stops_at_the_instance_limit_earliest_first():
    hourly = series("RRULE:FREQ=HOURLY")
    found = expand(hourly, NOW, NOW + timedelta(days=30), limits=Limits(max_instances=100))
    assert found.exceeded == INSTANCES and len(found.instances) == 100
    assert starts(found.instances) == [NOW + timedelta(hours=n) for n in range(100)]


def test_a_master_with_thousands_of_exdates_counts_as_many_instances():
    exdates = [f"EXDATE:{NOW + timedelta(days=1000 + n):%Y%m%dT%H%M%SZ}" for n in range(500)]
    daily = series("RRULE:FREQ=DAILY", *exdates)
    found = expand(daily, NOW, NOW + timedelta(days=400), limits=Limits(max_instances=1000))
    assert found.exceeded == INSTANCES and len(found.instances) < 1000 // 10
    plain = expand(series("RRULE:FREQ=DAILY"), NOW, NOW + timedelta(days=400), limits=Limits(max_instances=1000))
    assert plain.complete and len(plain.instances) == 400  # one a day, the end excluded


def test_a_rule_whose_filters_never_match_yields_only_its_start_without_walking_to_9999(monkeypatch):
    handed = []
    real = recurring_ical_events.of
    monkeypatch.setattr(recurrence.recurring_ical_events, "of", lambda cal, **kw: handed.append(cal) or real(cal, **kw))
    never = series("RRULE:FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30")
    found = expand(never, *WINDOW)
    assert found.complete and starts(found.instances) == [NOW]
    assert "RRULE" not in handed[0].walk("VEVENT")[0]  # dropped: dateutil would search until the year 9999
    assert "RRULE" in never.walk("VEVENT")[0]  # the caller's object is untouched


def test_the_time_budget_ends_the_expansion_between_slices():
    ticks = count(step=10)
    found = expand(series("RRULE:FREQ=DAILY"), *WINDOW, limits=Limits(max_seconds=5), clock=lambda: float(next(ticks)))
    assert found.exceeded == TIME and len(found.instances) < 400


def test_a_broken_rule_is_a_recurrence_error():
    with pytest.raises(RecurrenceError):
        expand(series("RRULE:FREQ=FORTNIGHTLY"), *WINDOW)


def test_occurs_finds_the_earliest_instance_only():
    weekly = series("RRULE:FREQ=WEEKLY", start=NOW - timedelta(days=3650))
    found = occurs(weekly, NOW, NOW + timedelta(days=36600))
    assert found.complete and len(found.instances) == 1 and found.instances[0]["DTSTART"].dt >= NOW - timedelta(hours=1)


def test_counted_last_start_is_bounded():
    rule = icalendar.prop.vRecur.from_ical
    start = datetime(2026, 1, 1, 9)
    assert counted_last_start(rule("FREQ=DAILY;COUNT=5"), start) == datetime(2026, 1, 5, 9)
    assert counted_last_start(rule("FREQ=SECONDLY;COUNT=1000000000"), start) is None
    assert counted_last_start(rule("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30;COUNT=3"), start) == start


@settings(max_examples=40, deadline=None)
@given(
    freq=st.sampled_from(["DAILY", "WEEKLY", "MONTHLY", "HOURLY"]),
    interval=st.integers(1, 3),
    count_=st.one_of(st.none(), st.integers(1, 60)),
    offset_days=st.integers(-200, 200),
    span_days=st.integers(0, 60),
)
def test_within_its_limits_it_agrees_with_recurring_ical_events(freq, interval, count_, offset_days, span_days):
    rule = f"RRULE:FREQ={freq};INTERVAL={interval}" + (f";COUNT={count_}" if count_ else "")
    calendar = series(rule, "EXDATE:" + f"{NOW + timedelta(days=7):%Y%m%dT%H%M%SZ}")
    start = NOW + timedelta(days=offset_days)
    end = start + timedelta(days=span_days, hours=1)
    found = expand(calendar, start, end)
    assert found.complete
    expected = sorted(starts(recurring_ical_events.of(calendar).between(start, end)))
    assert starts(found.instances) == expected
