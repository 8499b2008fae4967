"""Expanding calendar objects into busy intervals: recurrences, overrides, EXDATE, free events, DST."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from booking.busy import UnreadableCalendar, busy_intervals

BERLIN = ZoneInfo("Europe/Berlin")
MARCH = (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))


def calendar(*events: str) -> bytes:
    body = "".join(f"BEGIN:VEVENT\r\n{event.strip()}\r\nEND:VEVENT\r\n" for event in events)
    text = f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n{body}END:VCALENDAR\r\n"
    return "\r\n".join(line.strip() for line in text.splitlines()).encode() + b"\r\n"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def spans(data: bytes, window=MARCH, zone=BERLIN) -> list[tuple[datetime, datetime]]:
    return [(i.start, i.end) for i in busy_intervals(data, zone=zone, start=window[0], end=window[1])]


WEEKLY = calendar(
    """UID:weekly
    DTSTART;TZID=Europe/Berlin:20260303T100000
    DTEND;TZID=Europe/Berlin:20260303T120000
    RRULE:FREQ=WEEKLY;COUNT=5
    EXDATE;TZID=Europe/Berlin:20260317T100000
    SUMMARY:Weekly""",
    """UID:weekly
    RECURRENCE-ID;TZID=Europe/Berlin:20260310T100000
    DTSTART;TZID=Europe/Berlin:20260311T150000
    DTEND;TZID=Europe/Berlin:20260311T160000
    SUMMARY:Weekly (moved)""",
)


def test_a_weekly_series_blocks_every_occurrence_with_the_override_moved_and_the_exdate_free():
    assert spans(WEEKLY) == [
        (utc(2026, 3, 3, 9), utc(2026, 3, 3, 11)),
        (utc(2026, 3, 11, 14), utc(2026, 3, 11, 15)),  # 10 March moved to 11 March 15:00
        # 17 March excluded
        (utc(2026, 3, 24, 9), utc(2026, 3, 24, 11)),
        (utc(2026, 3, 31, 8), utc(2026, 3, 31, 10)),  # after the switch to summer time: still 10:00 local
    ]


def test_transparent_and_cancelled_events_and_a_cancelled_occurrence_do_not_block():
    data = calendar(
        """UID:free
        DTSTART:20260305T100000Z
        DTEND:20260305T110000Z
        TRANSP:TRANSPARENT""",
        """UID:off
        DTSTART:20260306T100000Z
        DTEND:20260306T110000Z
        STATUS:CANCELLED""",
        """UID:series
        DTSTART:20260302T080000Z
        DTEND:20260302T090000Z
        RRULE:FREQ=DAILY;COUNT=2""",
        """UID:series
        RECURRENCE-ID:20260303T080000Z
        DTSTART:20260303T080000Z
        DTEND:20260303T090000Z
        STATUS:CANCELLED""",
    )
    assert spans(data) == [(utc(2026, 3, 2, 8), utc(2026, 3, 2, 9))]


def test_an_all_day_event_blocks_the_artists_whole_local_day_even_the_23_hour_one():
    data = calendar("UID:day\nDTSTART;VALUE=DATE:20260329\nDTEND;VALUE=DATE:20260330")
    assert spans(data) == [(utc(2026, 3, 28, 23), utc(2026, 3, 29, 22))]
    assert spans(data, zone=ZoneInfo("America/New_York")) == [(utc(2026, 3, 29, 4), utc(2026, 3, 30, 4))]


def test_a_floating_event_is_read_on_the_artists_wall_clock_across_the_autumn_switch():
    data = calendar("UID:float\nDTSTART:20261025T010000\nDTEND:20261025T040000")
    october = (utc(2026, 10, 1), utc(2026, 11, 1))
    # 01:00 CEST (+2) to 04:00 CET (+1): four real hours on the 25-hour day.
    assert spans(data, window=october) == [(utc(2026, 10, 24, 23), utc(2026, 10, 25, 3))]


def test_a_daily_series_keeps_its_local_time_over_the_spring_switch():
    data = calendar(
        "UID:d\nDTSTART;TZID=Europe/Berlin:20260328T090000\nDTEND;TZID=Europe/Berlin:20260328T100000\n"
        "RRULE:FREQ=DAILY;COUNT=2"
    )
    assert spans(data) == [(utc(2026, 3, 28, 8), utc(2026, 3, 28, 9)), (utc(2026, 3, 29, 7), utc(2026, 3, 29, 8))]


def test_only_occurrences_overlapping_the_window_are_returned():
    window = (utc(2026, 3, 10), utc(2026, 3, 25))
    assert [s for s, _ in spans(WEEKLY, window=window)] == [utc(2026, 3, 11, 14), utc(2026, 3, 24, 9)]


def test_garbage_is_reported_as_unreadable():
    with pytest.raises(UnreadableCalendar):
        busy_intervals(b"not a calendar", zone=BERLIN, start=MARCH[0], end=MARCH[1])
