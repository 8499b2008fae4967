"""Time-range semantics: the RFC 4791 §9.9 tables at their boundaries, time zones, recurrence, stored spans."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import recurring_ical_events
from hypothesis import given, settings
from hypothesis import strategies as st

from feeds.dav.query import CompFilter, TimeRange, calendar_zone, candidate_range, matches, object_span
from feeds.dav.tests.query_data import US_EASTERN, calendar, event, todo, utc, xml_filter

BERLIN = ZoneInfo("Europe/Berlin")


def in_range(cal, start, end, name="VEVENT", tz=UTC) -> bool:
    wanted = CompFilter("VCALENDAR", comp_filters=(CompFilter(name, time_range=TimeRange(start, end)),))
    return matches(wanted, cal, tz)


def at(hour: int, minute: int = 0, second: int = 0) -> datetime:
    return utc(2024, 3, 1, hour, minute, second)


# --- VEVENT -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "start", "end", "expected"),
    [
        (["DTSTART:20240301T100000Z", "DTEND:20240301T110000Z"], at(9), at(10), False),
        (["DTSTART:20240301T100000Z", "DTEND:20240301T110000Z"], at(9), at(10, 0, 1), True),
        (["DTSTART:20240301T100000Z", "DTEND:20240301T110000Z"], at(10, 59, 59), at(12), True),
        (["DTSTART:20240301T100000Z", "DTEND:20240301T110000Z"], at(11), at(12), False),
        (["DTSTART:20240301T100000Z", "DTEND:20240301T110000Z"], None, at(10, 0, 1), True),
        (["DTSTART:20240301T100000Z", "DTEND:20240301T110000Z"], at(11), None, False),
        # DTEND equal to DTSTART still takes the DTEND row: (start < DTEND AND end > DTSTART)
        (["DTSTART:20240301T100000Z", "DTEND:20240301T100000Z"], at(10), at(11), False),
        (["DTSTART:20240301T100000Z", "DTEND:20240301T100000Z"], at(9), at(11), True),
        # a zero DURATION or no end at all: (start <= DTSTART AND end > DTSTART)
        (["DTSTART:20240301T100000Z", "DURATION:PT0S"], at(10), at(11), True),
        (["DTSTART:20240301T100000Z", "DURATION:PT0S"], at(9), at(10), False),
        (["DTSTART:20240301T100000Z"], at(10), at(10, 0, 1), True),
        (["DTSTART:20240301T100000Z"], at(9), at(10), False),
        (["DTSTART:20240301T100000Z", "DURATION:PT30M"], at(10, 29), at(11), True),
        (["DTSTART:20240301T100000Z", "DURATION:PT30M"], at(10, 30), at(11), False),
        # an all-day event without an end lasts one day
        (["DTSTART;VALUE=DATE:20240301"], utc(2024, 3, 1, 23, 59), utc(2024, 3, 2), True),
        (["DTSTART;VALUE=DATE:20240301"], utc(2024, 3, 2), utc(2024, 3, 3), False),
        (["DTSTART;VALUE=DATE:20240301", "DTEND;VALUE=DATE:20240304"], utc(2024, 3, 3, 12), utc(2024, 3, 3, 13), True),
    ],
)
def test_vevent_table(lines, start, end, expected):
    assert in_range(event(*lines), start, end) is expected


def test_time_zones_are_exact_across_dst():
    # Oct 27 2024 02:00-03:00 happens twice in Berlin: 01:30 CEST is 23:30Z, 03:30 CET is 02:30Z.
    night = event("DTSTART;TZID=Europe/Berlin:20241027T013000", "DTEND;TZID=Europe/Berlin:20241027T033000")
    assert in_range(night, utc(2024, 10, 26, 23, 29), utc(2024, 10, 26, 23, 31))
    assert in_range(night, utc(2024, 10, 27, 2, 29), utc(2024, 10, 27, 2, 30))
    assert not in_range(night, utc(2024, 10, 27, 2, 30), utc(2024, 10, 27, 3))


def test_a_day_of_duration_is_nominal_across_the_spring_change():
    # P1D from 12:00 CET Mar 30 ends 12:00 CEST Mar 31, which is 10:00Z: 23 hours, not 24.
    spring = event("DTSTART;TZID=Europe/Berlin:20240330T120000", "DURATION:P1D")
    assert in_range(spring, utc(2024, 3, 31, 9, 59), utc(2024, 3, 31, 10))
    assert not in_range(spring, utc(2024, 3, 31, 10), utc(2024, 3, 31, 11))


def test_floating_and_all_day_times_are_read_in_the_given_zone():
    floating = event("DTSTART:20240301T100000", "DTEND:20240301T110000")
    assert in_range(floating, at(10), at(10, 30))
    assert not in_range(floating, at(10), at(10, 30), tz=BERLIN)
    assert in_range(floating, at(9), at(9, 30), tz=BERLIN)
    all_day = event("DTSTART;VALUE=DATE:20240301")
    assert in_range(all_day, utc(2024, 3, 1, 23), utc(2024, 3, 2))
    assert not in_range(all_day, utc(2024, 3, 1, 23), utc(2024, 3, 2), tz=BERLIN)


def test_outlook_and_custom_time_zone_ids_are_honoured():
    outlook = event("DTSTART;TZID=W. Europe Standard Time:20240701T100000", "DURATION:PT1H")
    assert in_range(outlook, utc(2024, 7, 1, 8), utc(2024, 7, 1, 8, 30))
    custom = calendar(
        "BEGIN:VEVENT\nUID:c\nDTSTAMP:20060101T000000Z\nDTSTART;TZID=US/Eastern:20060704T100000\n"
        "DURATION:PT1H\nEND:VEVENT\n"
    )
    assert in_range(custom, utc(2006, 7, 4, 14), utc(2006, 7, 4, 14, 30))  # EDT, from the VTIMEZONE


def test_the_calendar_timezone_property_gives_the_floating_zone():
    text = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\n{}END:VCALENDAR\r\n"
    zone = calendar_zone(text.format(US_EASTERN.replace("\n", "\r\n")))
    assert in_range(
        event("DTSTART:20060704T100000", "DURATION:PT1H"), utc(2006, 7, 4, 14), utc(2006, 7, 4, 15), tz=zone
    )
    custom = US_EASTERN.replace("US/Eastern", "Eastern (custom)").replace("\n", "\r\n")
    assert datetime(2006, 1, 4, 10, tzinfo=calendar_zone(text.format(custom))).utcoffset() == timedelta(hours=-5)
    assert calendar_zone("") is UTC and calendar_zone("garbage") is UTC and calendar_zone(text.format("")) is UTC


def test_google_x_wr_timezone_places_utc_and_floating_times():
    google = calendar(
        "BEGIN:VEVENT\nUID:g\nDTSTAMP:20240101T000000Z\nDTSTART:20240301T100000\nDTEND:20240301T110000\nEND:VEVENT\n",
        timezones="X-WR-TIMEZONE:Europe/Berlin\n",
    )
    assert in_range(google, at(9), at(9, 30))
    assert not in_range(google, at(10, 30), at(10, 45))


# --- VTODO, VJOURNAL, VFREEBUSY, VALARM -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "start", "end", "expected"),
    [
        # DTSTART + DURATION: (start <= DTSTART+DURATION) AND ((end > DTSTART) OR (end >= DTSTART+DURATION))
        (["DTSTART:20240301T100000Z", "DURATION:PT2H"], at(12), at(13), True),
        (["DTSTART:20240301T100000Z", "DURATION:PT2H"], at(12, 0, 1), at(13), False),
        (["DTSTART:20240301T100000Z", "DURATION:PT2H"], at(9), at(10), False),
        # DTSTART + DUE: ((start < DUE) OR (start <= DTSTART)) AND ((end > DTSTART) OR (end >= DUE))
        (["DTSTART:20240301T100000Z", "DUE:20240301T120000Z"], at(12), at(13), False),
        (["DTSTART:20240301T100000Z", "DUE:20240301T120000Z"], at(11, 59), at(13), True),
        (["DTSTART:20240301T100000Z", "DUE:20240301T120000Z"], at(9), at(10), False),
        (["DTSTART:20240301T100000Z", "DUE:20240301T100000Z"], at(9), at(10), True),
        (["DTSTART:20240301T100000Z", "DUE:20240301T100000Z"], at(10), at(11), True),
        # DTSTART only: (start <= DTSTART AND end > DTSTART)
        (["DTSTART:20240301T100000Z"], at(10), at(11), True),
        (["DTSTART:20240301T100000Z"], at(9), at(10), False),
        # DUE only: (start < DUE AND end >= DUE)
        (["DUE:20240301T120000Z"], at(11), at(12), True),
        (["DUE:20240301T120000Z"], at(12), at(13), False),
        (["DUE;VALUE=DATE:20240302"], at(23), utc(2024, 3, 2), True),
        # COMPLETED and CREATED
        (["CREATED:20240301T090000Z", "COMPLETED:20240301T130000Z"], at(13), at(14), True),
        (["CREATED:20240301T090000Z", "COMPLETED:20240301T130000Z"], at(13, 0, 1), at(14), False),
        (["CREATED:20240301T090000Z", "COMPLETED:20240301T130000Z"], at(8), at(9), True),
        (["CREATED:20240301T090000Z", "COMPLETED:20240301T130000Z"], at(7), at(8), False),
        (["COMPLETED:20240301T130000Z"], at(12), at(13), True),
        (["COMPLETED:20240301T130000Z"], at(13), at(14), True),
        (["COMPLETED:20240301T130000Z"], at(12), at(12, 59), False),
        (["CREATED:20240301T090000Z"], at(8), at(9), False),
        (["CREATED:20240301T090000Z"], at(8), at(9, 0, 1), True),
        (["CREATED:20240301T090000Z"], utc(2090, 1, 1), None, True),
        # no dates at all: a task for every day
        ([], utc(1990, 1, 1), utc(1990, 1, 2), True),
    ],
)
def test_vtodo_table(lines, start, end, expected):
    assert in_range(todo(*lines), start, end, name="VTODO") is expected


def _one(name: str, *lines: str):
    body = "".join(line + "\n" for line in lines)
    return calendar(f"BEGIN:{name}\nUID:x\nDTSTAMP:20240101T000000Z\n{body}END:{name}\n", timezones="")


def test_vjournal_table():
    timed, day, undated = (
        _one("VJOURNAL", "DTSTART:20240301T100000Z"),
        _one("VJOURNAL", "DTSTART;VALUE=DATE:20240301"),
        _one("VJOURNAL"),
    )
    assert in_range(timed, at(10), at(11), "VJOURNAL") and not in_range(timed, at(9), at(10), "VJOURNAL")
    assert in_range(day, at(23), utc(2024, 3, 2), "VJOURNAL")
    assert not in_range(day, utc(2024, 3, 2), utc(2024, 3, 3), "VJOURNAL")
    assert not in_range(undated, None, utc(2100, 1, 1), "VJOURNAL")


def test_vfreebusy_table():
    bounded = _one("VFREEBUSY", "DTSTART:20240301T100000Z", "DTEND:20240301T120000Z")
    assert in_range(bounded, at(12), at(13), "VFREEBUSY")  # (start <= DTEND): inclusive
    assert not in_range(bounded, at(8), at(10), "VFREEBUSY")
    periods = _one("VFREEBUSY", "FREEBUSY;FBTYPE=BUSY:20240301T100000Z/PT1H,20240301T150000Z/20240301T160000Z")
    assert in_range(periods, at(15, 30), at(15, 31), "VFREEBUSY")
    assert not in_range(periods, at(11), at(15), "VFREEBUSY")
    assert not in_range(_one("VFREEBUSY"), None, None, "VFREEBUSY")


def alarms_between(start: str, end: str, comp: str = "VEVENT"):
    return xml_filter(
        f'<C:comp-filter name="VCALENDAR"><C:comp-filter name="{comp}"><C:comp-filter name="VALARM">'
        f'<C:time-range start="{start}" end="{end}"/></C:comp-filter></C:comp-filter></C:comp-filter>'
    )


def with_alarm(*alarm_lines: str, event_lines=("DTSTART:20240301T100000Z", "DTEND:20240301T110000Z")):
    alarm = "BEGIN:VALARM\nACTION:DISPLAY\nDESCRIPTION:x\n" + "".join(f"{a}\n" for a in alarm_lines) + "END:VALARM"
    return event(*event_lines, alarm)


def test_valarm_fires_relative_to_start_end_or_absolutely_and_repeats():
    before = with_alarm("TRIGGER:-PT15M")
    assert matches(alarms_between("20240301T094500Z", "20240301T094600Z"), before)
    assert not matches(alarms_between("20240301T093000Z", "20240301T094500Z"), before)
    at_end = with_alarm("TRIGGER;RELATED=END:PT0S")
    assert matches(alarms_between("20240301T110000Z", "20240301T110100Z"), at_end)
    assert not matches(alarms_between("20240301T100000Z", "20240301T110000Z"), at_end)
    fixed = with_alarm("TRIGGER;VALUE=DATE-TIME:20240229T080000Z")
    assert matches(alarms_between("20240229T080000Z", "20240229T090000Z"), fixed)
    snooze = with_alarm("TRIGGER:-PT15M", "REPEAT:2", "DURATION:PT5M")
    assert matches(alarms_between("20240301T095500Z", "20240301T100000Z"), snooze)
    assert not matches(alarms_between("20240301T095600Z", "20240301T100000Z"), snooze)


def test_alarms_of_recurring_events_fire_for_each_instance_but_not_excluded_ones():
    daily = with_alarm(
        "TRIGGER:-PT15M",
        event_lines=(
            "DTSTART;TZID=Europe/Berlin:20240301T110000",
            "DURATION:PT1H",
            "RRULE:FREQ=DAILY",
            "EXDATE;TZID=Europe/Berlin:20240310T110000",
        ),
    )
    assert matches(alarms_between("20240305T094500Z", "20240305T095000Z"), daily)
    assert not matches(alarms_between("20240305T100000Z", "20240305T110000Z"), daily)
    assert not matches(alarms_between("20240310T094500Z", "20240310T095000Z"), daily)
    # after the DST change the instance is 09:00Z, so its alarm fires at 08:45Z
    assert matches(alarms_between("20240405T084500Z", "20240405T085000Z"), daily)
    early = with_alarm("TRIGGER:-P2D", event_lines=("DTSTART:20240301T100000Z", "RRULE:FREQ=WEEKLY;COUNT=4"))
    assert matches(alarms_between("20240320T100000Z", "20240320T100100Z"), early)  # for the Mar 22 instance
    assert not matches(alarms_between("20240321T100000Z", "20240321T100100Z"), early)


# --- recurrence ---------------------------------------------------------------------------------------------


def test_exdate_rdate_and_dst_in_a_series():
    weekly = event(
        "DTSTART;TZID=Europe/Berlin:20240318T090000",
        "DTEND;TZID=Europe/Berlin:20240318T100000",
        "RRULE:FREQ=WEEKLY",
        "EXDATE;TZID=Europe/Berlin:20240401T090000",
        "RDATE;VALUE=PERIOD:20240403T150000Z/PT2H",
    )
    assert in_range(weekly, utc(2024, 3, 18, 8), utc(2024, 3, 18, 8, 30))  # CET
    assert in_range(weekly, utc(2024, 3, 25, 8), utc(2024, 3, 25, 8, 30))  # still CET
    assert in_range(weekly, utc(2024, 4, 8, 7), utc(2024, 4, 8, 7, 30))  # CEST since Mar 31
    assert not in_range(weekly, utc(2024, 4, 8, 8), utc(2024, 4, 8, 8, 30))
    assert not in_range(weekly, utc(2024, 4, 1), utc(2024, 4, 2))  # EXDATE
    assert in_range(weekly, utc(2024, 4, 3, 16, 30), utc(2024, 4, 3, 16, 45))  # the RDATE period
    assert in_range(weekly, utc(2031, 6, 2, 7), utc(2031, 6, 2, 7, 30))


def test_all_day_yearly_series_from_before_1970():
    birthday = event("DTSTART;VALUE=DATE:19560315", "RRULE:FREQ=YEARLY", "SUMMARY:Birthday")
    assert in_range(birthday, utc(2024, 3, 15, 12), utc(2024, 3, 15, 13))
    assert not in_range(birthday, utc(2024, 3, 16), utc(2024, 3, 17))
    assert in_range(birthday, None, utc(1956, 3, 15, 0, 1))


def test_overrides_listed_before_their_master_are_honoured():
    text = (
        "BEGIN:VEVENT\nUID:o\nDTSTAMP:20240101T000000Z\nRECURRENCE-ID:20240302T100000Z\n"
        "DTSTART:20240302T150000Z\nDTEND:20240302T160000Z\nEND:VEVENT\n"
        "BEGIN:VEVENT\nUID:o\nDTSTAMP:20240101T000000Z\nDTSTART:20240301T100000Z\nDTEND:20240301T110000Z\n"
        "RRULE:FREQ=DAILY;COUNT=3\nEND:VEVENT\n"
    )
    series = calendar(text, timezones="")
    assert in_range(series, utc(2024, 3, 2, 15), utc(2024, 3, 2, 15, 30))
    assert not in_range(series, utc(2024, 3, 2, 10), utc(2024, 3, 2, 10, 30))
    assert not in_range(series, utc(2024, 3, 4, 10), utc(2024, 3, 4, 10, 30))  # COUNT=3 is over


def test_a_series_without_instances_matches_no_range():
    empty = event("DTSTART:20240301T100000Z", "DURATION:PT1H", "RRULE:FREQ=DAILY;COUNT=1", "EXDATE:20240301T100000Z")
    assert not in_range(empty, None, None)
    assert not in_range(empty, utc(2024, 3, 1), utc(2024, 3, 2))


def test_a_broken_rule_falls_back_to_the_stored_component():
    broken = event("DTSTART:20240301T100000Z", "DURATION:PT1H", "RRULE:FREQ=FORTNIGHTLY;BYDAY=XX")
    assert in_range(broken, at(10), at(11))
    assert not in_range(broken, utc(2024, 3, 15, 10), utc(2024, 3, 15, 11))


def test_open_ended_ranges_on_an_endless_series():
    daily = event("DTSTART:20240301T100000Z", "RRULE:FREQ=DAILY")
    assert in_range(daily, utc(2090, 1, 1), None)
    assert not in_range(daily, None, at(10))
    assert in_range(daily, None, at(10, 0, 1))
    minutely = event("DTSTART:20240301T100000Z", "RRULE:FREQ=MINUTELY", "SUMMARY:tick")
    assert in_range(minutely, utc(2024, 3, 3, 12, 7), utc(2024, 3, 3, 12, 8))
    never = xml_filter(
        '<C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">'
        '<C:time-range start="20240301T000000Z"/><C:prop-filter name="SUMMARY"><C:text-match>tock'
        "</C:text-match></C:prop-filter></C:comp-filter></C:comp-filter>"
    )
    assert not matches(never, minutely)  # bounded by the instance cap, not endless


def test_a_dense_rule_far_from_its_start_is_not_expanded_and_meets_the_range():
    # dateutil would walk 34 million minutes to reach 2090: the series is answered as stored, and a client
    # asking for 2090 gets it (hiding a real event is worse than sending one it can expand itself).
    minutely = event("DTSTART:20240301T100000Z", "RRULE:FREQ=MINUTELY")
    assert in_range(minutely, utc(2090, 1, 1), utc(2090, 1, 2))
    assert not in_range(minutely, utc(2023, 1, 1), utc(2023, 1, 2))  # before it starts: cheap to tell
    assert in_range(minutely, at(10), at(10, 0, 1))
    counted = event("DTSTART:20240301T100000Z", "RRULE:FREQ=MINUTELY;COUNT=10")
    assert not in_range(counted, utc(2090, 1, 1), None)
    assert in_range(counted, at(10, 9), at(10, 10))


def test_floating_series_in_a_zone():
    floating = event("DTSTART:20240301T100000", "DURATION:PT1H", "RRULE:FREQ=DAILY")
    assert in_range(floating, utc(2024, 7, 1, 8), utc(2024, 7, 1, 8, 30), tz=BERLIN)
    assert not in_range(floating, utc(2024, 7, 1, 10, 30), utc(2024, 7, 1, 10, 45), tz=BERLIN)


def test_recurring_todos_expand_too():
    chores = todo("DTSTART:20240301T080000Z", "DUE:20240301T090000Z", "RRULE:FREQ=WEEKLY;COUNT=4")
    assert in_range(chores, utc(2024, 3, 15, 8, 30), utc(2024, 3, 15, 8, 31), "VTODO")
    assert not in_range(chores, utc(2024, 3, 29, 8), utc(2024, 3, 29, 9), "VTODO")


# --- stored spans -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cal", "expected"),
    [
        (event("DTSTART:20240301T100000Z", "RRULE:FREQ=DAILY"), (utc(2024, 3, 1, 10), None)),
        (
            event("DTSTART;TZID=Europe/Berlin:20240318T090000", "DURATION:PT1H", "RRULE:FREQ=WEEKLY;COUNT=3"),
            (utc(2024, 3, 18, 8), utc(2024, 4, 1, 8)),
        ),
        (
            event("DTSTART:20240301T100000Z", "DURATION:PT1H", "RRULE:FREQ=DAILY;UNTIL=20240310T100000Z"),
            (utc(2024, 3, 1, 10), utc(2024, 3, 10, 11)),
        ),
        (
            event("DTSTART:20240301T100000Z", "DURATION:PT1H", "RRULE:FREQ=DAILY;COUNT=99999"),
            (utc(2024, 3, 1, 10), None),
        ),
        (
            event("DTSTART:20240301T100000Z", "DURATION:PT1H", "RDATE:20240201T100000Z"),
            (utc(2024, 2, 1, 10), utc(2024, 3, 1, 11)),
        ),
        (event("DTSTART;VALUE=DATE:20240301"), (utc(2024, 3, 1), utc(2024, 3, 2))),
        (todo("CREATED:20240301T090000Z"), (utc(2024, 3, 1, 9), None)),
        (todo("STATUS:NEEDS-ACTION"), (None, None)),
        (_one("VJOURNAL", "DTSTART;VALUE=DATE:20240301"), (utc(2024, 3, 1), utc(2024, 3, 2))),
        (
            _one("VFREEBUSY", "FREEBUSY:20240301T100000Z/PT1H,20240302T100000Z/PT1H"),
            (utc(2024, 3, 1, 10), utc(2024, 3, 2, 11)),
        ),
    ],
)
def test_object_span(cal, expected):
    assert object_span(cal)[1:] == expected


ZONES = st.sampled_from([None, UTC, BERLIN, ZoneInfo("America/New_York"), ZoneInfo("Pacific/Kiritimati")])


@st.composite
def random_events(draw):
    zone = draw(ZONES)
    begin = datetime(2024, 1, 1) + timedelta(minutes=15 * draw(st.integers(0, 4 * 24 * 400)))
    all_day = draw(st.booleans()) and zone is None
    if all_day:
        lines = [f"DTSTART;VALUE=DATE:{begin:%Y%m%d}"]
    else:
        tzid = f";TZID={zone.key}" if isinstance(zone, ZoneInfo) else ""
        lines = [f"DTSTART{tzid}:{begin:%Y%m%dT%H%M%S}{'Z' if zone is UTC else ''}"]
    length = draw(st.sampled_from([None, "PT0S", "PT45M", "PT3H", "P1D", "P2DT1H"]))
    if length:
        lines.append(f"DURATION:{length}")
    rule = draw(st.sampled_from([None, "FREQ=DAILY;COUNT=5", "FREQ=WEEKLY;INTERVAL=2", "FREQ=MONTHLY;COUNT=3"]))
    if rule:
        lines.append(f"RRULE:{rule}")
    return lines


@st.composite
def random_ranges(draw):
    start = utc(2024, 1, 1) + timedelta(hours=draw(st.integers(-48, 24 * 500)))
    end = start + timedelta(hours=draw(st.integers(0, 24 * 40)))
    return draw(st.sampled_from([start, None])), draw(st.sampled_from([end, None]))


@settings(max_examples=150, deadline=None)
@given(random_events(), random_ranges(), ZONES.filter(lambda z: z is not None))
def test_the_stored_span_never_hides_a_match(lines, bounds, floating_tz):
    cal = event(*lines)
    start, end = bounds
    if not in_range(cal, start, end, tz=floating_tz):
        return
    _, first_start, last_end = object_span(cal)
    low, high = candidate_range(start, end)
    assert first_start is None or high is None or first_start < high
    assert last_end is None or low is None or last_end > low


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 24 * 120), st.integers(1, 24 * 10), st.sampled_from(["DAILY", "WEEKLY", "MONTHLY"]))
def test_series_matching_agrees_with_recurring_ical_events(offset_hours, span_hours, freq):
    cal = calendar(
        "BEGIN:VEVENT\nUID:s\nDTSTAMP:20240101T000000Z\nDTSTART;TZID=Europe/Berlin:20240105T233000\n"
        f"DURATION:PT90M\nRRULE:FREQ={freq};COUNT=40\nEXDATE;TZID=Europe/Berlin:20240106T233000\nEND:VEVENT\n"
        "BEGIN:VEVENT\nUID:s\nDTSTAMP:20240101T000000Z\nRECURRENCE-ID;TZID=Europe/Berlin:20240107T233000\n"
        "DTSTART:20240110T120000Z\nDURATION:PT30M\nEND:VEVENT\n",
        timezones="",
    )
    start = utc(2024, 1, 1) + timedelta(hours=offset_hours)
    end = start + timedelta(hours=span_hours)
    expected = bool(recurring_ical_events.of(cal).between(start, end))
    assert in_range(cal, start, end) is expected
