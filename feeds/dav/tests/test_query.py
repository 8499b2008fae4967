"""calendar-query filters: parsing the CALDAV:filter element and judging calendar objects by it."""

from __future__ import annotations

import pytest
from defusedxml.ElementTree import fromstring

from feeds.dav import query, timerange
from feeds.dav.query import (
    CompFilter,
    ParamFilter,
    PropFilter,
    QueryError,
    TextMatch,
    TimeRange,
    component_name,
    is_component_only,
    matches,
    object_span,
    parse_time,
    prefilter_range,
)
from feeds.dav.tests.query_data import (
    EVENT_1,
    EVENT_2,
    EVENT_3,
    TASK_1,
    TASK_2,
    TASK_CANCELLED,
    TASK_DONE,
    calendar,
    event,
    events_between,
    utc,
    xml_filter,
)

APPENDIX_B = {
    "event1": calendar(EVENT_1),
    "event2": calendar(EVENT_2),
    "event3": calendar(EVENT_3),
    "task1": calendar(TASK_1, timezones=""),
    "task2": calendar(TASK_2),
    "task3": calendar(TASK_DONE, timezones=""),
    "task4": calendar(TASK_CANCELLED, timezones=""),
}


def matching(filter_: CompFilter) -> set[str]:
    return {name for name, cal in APPENDIX_B.items() if matches(filter_, cal)}


def in_vevent(inner: str, comp: str = "VEVENT") -> CompFilter:
    return xml_filter(
        f'<C:comp-filter name="VCALENDAR"><C:comp-filter name="{comp}">{inner}</C:comp-filter></C:comp-filter>'
    )


# --- parsing ------------------------------------------------------------------------------------------------


def test_it_parses_a_nested_filter_into_frozen_dataclasses():
    parsed = in_vevent(
        '<C:time-range start="20060104T000000Z"/>'
        '<C:prop-filter name="attendee"><C:text-match collation="i;octet" negate-condition="yes">lisa'
        '</C:text-match><C:param-filter name="PARTSTAT"><C:is-not-defined/></C:param-filter></C:prop-filter>'
        '<C:comp-filter name="VALARM"><C:is-not-defined/></C:comp-filter>'
    )
    assert parsed == CompFilter(
        "VCALENDAR",
        comp_filters=(
            CompFilter(
                "VEVENT",
                time_range=TimeRange(utc(2006, 1, 4), None),
                prop_filters=(
                    PropFilter(
                        "ATTENDEE",
                        text_match=TextMatch("lisa", "i;octet", negate=True),
                        param_filters=(ParamFilter("PARTSTAT", is_not_defined=True),),
                    ),
                ),
                comp_filters=(CompFilter("VALARM", is_not_defined=True),),
            ),
        ),
    )
    with pytest.raises(AttributeError):
        parsed.name = "VTODO"


def test_it_ignores_elements_of_other_namespaces_and_apples_is_defined():
    parsed = in_vevent('<D:foo/><C:prop-filter name="SUMMARY"><C:is-defined/></C:prop-filter>')
    assert parsed.comp_filters[0].prop_filters == (PropFilter("SUMMARY"),)


@pytest.mark.parametrize(
    ("inner", "condition"),
    [
        ('<C:comp-filter name="VEVENT"/>', "valid-filter"),
        ("", "valid-filter"),
        ('<C:comp-filter name="VCALENDAR"/><C:comp-filter name="VCALENDAR"/>', "valid-filter"),
        ('<C:comp-filter name="VCALENDAR"><C:comp-filter/></C:comp-filter>', "valid-filter"),
        (
            '<C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range/></C:comp-filter>'
            "</C:comp-filter>",
            "valid-filter",
        ),
        (
            '<C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="2006-01-04"/>'
            "</C:comp-filter></C:comp-filter>",
            "valid-filter",
        ),
        (
            '<C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="20061304T000000Z"/>'
            "</C:comp-filter></C:comp-filter>",
            "valid-filter",
        ),
        (
            '<C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="20060105T000000Z" '
            'end="20060104T000000Z"/></C:comp-filter></C:comp-filter>',
            "valid-filter",
        ),
        (
            '<C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:is-not-defined/>'
            '<C:prop-filter name="SUMMARY"/></C:comp-filter></C:comp-filter>',
            "valid-filter",
        ),
        (
            '<C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:prop-filter name="SUMMARY">'
            '<C:text-match collation="i;klingon">x</C:text-match></C:prop-filter></C:comp-filter></C:comp-filter>',
            "supported-collation",
        ),
        (
            '<C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:prop-filter name="SUMMARY">'
            '<C:text-match negate-condition="maybe">x</C:text-match></C:prop-filter></C:comp-filter></C:comp-filter>',
            "valid-filter",
        ),
        (
            '<C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:prop-filter name="DTSTART">'
            '<C:time-range start="20060104T000000Z"/><C:text-match>x</C:text-match></C:prop-filter></C:comp-filter>'
            "</C:comp-filter>",
            "valid-filter",
        ),
        (
            '<C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:prop-filter name="SUMMARY">'
            "<C:comp-filter name='VALARM'/></C:prop-filter></C:comp-filter></C:comp-filter>",
            "valid-filter",
        ),
    ],
)
def test_it_refuses_an_invalid_filter_with_the_rfc_precondition(inner, condition):
    with pytest.raises(QueryError) as raised:
        xml_filter(inner)
    assert raised.value.condition == condition
    assert str(raised.value)


def test_it_reads_times_as_utc_with_or_without_the_z():
    assert parse_time("20060104T000000Z") == utc(2006, 1, 4)
    assert parse_time(" 20060104T123000 ") == utc(2006, 1, 4, 12, 30)
    with pytest.raises(QueryError):
        parse_time("20060104")


def test_a_time_range_may_be_an_instant_or_open_on_one_side():
    assert events_between("20060104T000000Z", "20060104T000000Z").comp_filters[0].time_range.start == utc(2006, 1, 4)
    assert events_between("", "20060104T000000Z").comp_filters[0].time_range == TimeRange(None, utc(2006, 1, 4))


# --- RFC 4791 §7.8 examples against Appendix B ----------------------------------------------------------------


def test_rfc_7_8_1_events_in_a_time_range_include_a_moved_recurrence():
    assert matching(events_between("20060104T000000Z", "20060105T000000Z")) == {"event2", "event3"}


def test_a_range_seen_only_through_recurrence_finds_the_series():
    assert matching(events_between("20060103T000000Z", "20060104T000000Z")) == {"event2"}


def test_an_instance_moved_away_no_longer_counts_at_its_old_time():
    # Jan 6 12:00 EST (17:00Z) was moved to 14:00 EST (19:00Z) by "Event #2 bis bis".
    assert matching(events_between("20060106T170000Z", "20060106T180000Z")) == set()
    assert matching(events_between("20060106T190000Z", "20060106T193000Z")) == {"event2"}


def test_rfc_7_8_5_todos_by_alarm_time():
    alarms = xml_filter(
        '<C:comp-filter name="VCALENDAR"><C:comp-filter name="VTODO"><C:comp-filter name="VALARM">'
        '<C:time-range start="20060106T100000Z" end="20060107T100000Z"/></C:comp-filter></C:comp-filter>'
        "</C:comp-filter>"
    )
    assert matching(alarms) == {"task2"}


def test_rfc_7_8_6_events_by_uid():
    uid = in_vevent(
        '<C:prop-filter name="UID"><C:text-match collation="i;octet">'
        "DC6C50A017428C5216A2F1CD@example.com</C:text-match></C:prop-filter>"
    )
    assert matching(uid) == {"event3"}


def test_rfc_7_8_7_events_by_attendee_partstat_on_the_same_attendee():
    lisa = (
        '<C:prop-filter name="ATTENDEE"><C:text-match collation="i;ascii-casemap">mailto:lisa@example.com'
        '</C:text-match><C:param-filter name="PARTSTAT"><C:text-match collation="i;ascii-casemap">{}'
        "</C:text-match></C:param-filter></C:prop-filter>"
    )
    assert matching(in_vevent(lisa.format("NEEDS-ACTION"))) == {"event3"}
    # Cyrus has ACCEPTED; Lisa has not, so the param-filter must be judged on Lisa's ATTENDEE line.
    assert matching(in_vevent(lisa.format("ACCEPTED"))) == set()


def test_rfc_7_8_8_events_only():
    assert matching(in_vevent("")) == {"event1", "event2", "event3"}


def test_rfc_7_8_9_pending_todos():
    pending = in_vevent(
        '<C:prop-filter name="COMPLETED"><C:is-not-defined/></C:prop-filter>'
        '<C:prop-filter name="STATUS"><C:text-match negate-condition="yes">CANCELLED</C:text-match>'
        "</C:prop-filter>",
        comp="VTODO",
    )
    assert matching(pending) == {"task1", "task2"}


def test_description_substring_is_case_insensitive_by_default():
    assert matching(
        in_vevent('<C:prop-filter name="DESCRIPTION"><C:text-match>STEELERS</C:text-match></C:prop-filter>')
    ) == {"event1"}


# --- text-match and collations ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("collation", "needle", "haystack", "expected"),
    [
        ("i;ascii-casemap", "meeting", "Team MEETING", True),
        ("i;ascii-casemap", "äpfel", "ÄPFEL", False),  # only A-Z fold under ascii-casemap
        ("i;octet", "meeting", "Team MEETING", False),
        ("i;octet", "MEET", "Team MEETING", True),
        ("i;unicode-casemap", "äpfel", "ÄPFEL kaufen", True),
        ("i;unicode-casemap", "cafe\u0301", "CAFÉ", True),  # NFKD: é and e + combining acute agree
        ("i;unicode-casemap", "ǆemal", "ǄEMAL", True),  # both map to the titlecase digraph ǅ
        ("i;ascii-casemap", "ǆemal", "ǄEMAL", False),
        ("i;ascii-casemap", "", "anything", True),
    ],
)
def test_text_match_follows_its_collation(collation, needle, haystack, expected):
    assert TextMatch(needle, collation).matches(haystack) is expected
    assert TextMatch(needle, collation, negate=True).matches(haystack) is not expected


def test_text_matches_the_unescaped_value_and_categories_as_a_list():
    cal = event(
        "DTSTART:20240301T100000Z", r"SUMMARY:Lunch\, then meeting", "CATEGORIES:Work,Travel", "CATEGORIES:Kunde"
    )
    assert matches(
        in_vevent('<C:prop-filter name="SUMMARY"><C:text-match>lunch, then</C:text-match></C:prop-filter>'), cal
    )
    assert matches(
        in_vevent('<C:prop-filter name="CATEGORIES"><C:text-match>travel</C:text-match></C:prop-filter>'), cal
    )
    assert matches(
        in_vevent('<C:prop-filter name="CATEGORIES"><C:text-match>kunde</C:text-match></C:prop-filter>'), cal
    )


def test_a_negated_text_match_needs_the_property():
    negated = in_vevent(
        '<C:prop-filter name="LOCATION"><C:text-match negate-condition="yes">Berlin</C:text-match></C:prop-filter>'
    )
    assert not matches(negated, event("DTSTART:20240301T100000Z"))
    assert matches(negated, event("DTSTART:20240301T100000Z", "LOCATION:Hamburg"))
    assert not matches(negated, event("DTSTART:20240301T100000Z", "LOCATION:Berlin Mitte"))


def test_param_filters_cover_multi_valued_parameters_and_absence():
    cal = event(
        "DTSTART:20240301T100000Z",
        'ATTENDEE;MEMBER="mailto:team@example.com","mailto:ops@example.com":mailto:a@example.com',
    )
    member = '<C:prop-filter name="ATTENDEE"><C:param-filter name="member">{}</C:param-filter></C:prop-filter>'
    assert matches(in_vevent(member.format("<C:text-match>ops@</C:text-match>")), cal)
    assert matches(in_vevent(member.format("")), cal)
    assert not matches(in_vevent(member.format("<C:is-not-defined/>")), cal)
    assert matches(in_vevent(member.replace("member", "CN").format("<C:is-not-defined/>")), cal)


def test_prop_filter_time_range_applies_to_date_and_date_time_values():
    cal = event("DTSTART;VALUE=DATE:20240301", "LAST-MODIFIED:20240215T120000Z")
    modified = '<C:prop-filter name="LAST-MODIFIED"><C:time-range start="{}" end="{}"/></C:prop-filter>'
    assert matches(in_vevent(modified.format("20240215T120000Z", "20240215T120001Z")), cal)
    assert not matches(in_vevent(modified.format("20240215T110000Z", "20240215T120000Z")), cal)
    day = (
        '<C:prop-filter name="DTSTART"><C:time-range start="20240301T230000Z" end="20240302T000000Z"/></C:prop-filter>'
    )
    assert matches(in_vevent(day), cal)


def test_nested_comp_filters_and_is_not_defined():
    with_alarm = calendar(
        EVENT_1.replace(
            "END:VEVENT", "BEGIN:VALARM\nACTION:DISPLAY\nTRIGGER:-PT15M\nDESCRIPTION:x\nEND:VALARM\nEND:VEVENT"
        )
    )
    has_alarm = in_vevent('<C:comp-filter name="VALARM"/>')
    no_alarm = in_vevent('<C:comp-filter name="VALARM"><C:is-not-defined/></C:comp-filter>')
    assert matches(has_alarm, with_alarm) and not matches(no_alarm, with_alarm)
    assert matches(no_alarm, APPENDIX_B["event1"]) and not matches(has_alarm, APPENDIX_B["event1"])
    no_todo = xml_filter(
        '<C:comp-filter name="VCALENDAR"><C:comp-filter name="VTODO"><C:is-not-defined/>'
        "</C:comp-filter></C:comp-filter>"
    )
    assert matching(no_todo) == {"event1", "event2", "event3"}


def test_sub_filters_must_hold_on_one_instance_that_is_in_range():
    moved = in_vevent(
        '<C:time-range start="20060104T000000Z" end="20060105T000000Z"/>'
        '<C:prop-filter name="SUMMARY"><C:text-match>bis bis</C:text-match></C:prop-filter>'
    )
    assert not matches(moved, APPENDIX_B["event2"])  # "bis bis" is Jan 6, Jan 4 is "bis"
    assert matches(
        moved.__class__(
            "VCALENDAR",
            comp_filters=(
                CompFilter(
                    "VEVENT",
                    time_range=TimeRange(utc(2006, 1, 6), utc(2006, 1, 7)),
                    prop_filters=moved.comp_filters[0].prop_filters,
                ),
            ),
        ),
        APPENDIX_B["event2"],
    )


def test_properties_of_the_series_survive_expansion():
    no_rid = in_vevent(
        '<C:time-range start="20060103T000000Z" end="20060104T000000Z"/>'
        '<C:prop-filter name="RECURRENCE-ID"><C:is-not-defined/></C:prop-filter>'
        '<C:prop-filter name="RRULE"/><C:prop-filter name="DURATION"/>'
        '<C:prop-filter name="DTEND"><C:is-not-defined/></C:prop-filter>'
    )
    assert matches(no_rid, APPENDIX_B["event2"])


def test_a_moved_instance_is_judged_by_its_own_properties():
    rid = '<C:prop-filter name="RECURRENCE-ID"/>'
    assert matches(
        in_vevent('<C:time-range start="20060104T190000Z" end="20060104T193000Z"/>' + rid), APPENDIX_B["event2"]
    )
    assert not matches(
        in_vevent('<C:time-range start="20060103T170000Z" end="20060103T173000Z"/>' + rid), APPENDIX_B["event2"]
    )


def test_a_plain_event_is_judged_without_expanding_anything(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("expanded a plain event")

    monkeypatch.setattr(timerange.recurrence, "expand", refuse)
    assert matches(events_between("20060104T000000Z", "20060105T000000Z"), APPENDIX_B["event3"])
    assert not matches(events_between("20060105T000000Z", "20060106T000000Z"), APPENDIX_B["event3"])


def test_the_outer_filter_must_name_the_calendar():
    assert not matches(CompFilter("VCALENDAR", is_not_defined=True), APPENDIX_B["event1"])
    assert matches(CompFilter("VCALENDAR"), APPENDIX_B["task1"])


# --- narrowing the database query ---------------------------------------------------------------------------


def test_component_name_pins_a_stored_type_only_when_the_filter_does():
    assert component_name(in_vevent("")) == "VEVENT"
    assert component_name(in_vevent("", comp="VTODO")) == "VTODO"
    assert component_name(CompFilter("VCALENDAR")) is None
    assert component_name(in_vevent("<C:is-not-defined/>")) is None
    assert component_name(in_vevent("", comp="VTIMEZONE")) is None


def test_is_component_only_when_the_type_column_answers_the_filter():
    assert is_component_only(CompFilter("VCALENDAR"))
    assert is_component_only(in_vevent(""))
    assert not is_component_only(in_vevent('<C:time-range start="20060104T000000Z"/>'))
    assert not is_component_only(in_vevent('<C:prop-filter name="SUMMARY"/>'))
    assert not is_component_only(in_vevent("<C:is-not-defined/>"))
    assert not is_component_only(in_vevent("", comp="VTIMEZONE"))


def test_prefilter_range_is_the_time_range_widened_for_floating_times():
    assert prefilter_range(events_between("20060104T000000Z", "20060105T000000Z")) == (
        utc(2006, 1, 3, 10),
        utc(2006, 1, 5, 14),
    )
    assert prefilter_range(events_between("20060104T000000Z", "")) == (utc(2006, 1, 3, 10), None)
    assert (
        prefilter_range(
            in_vevent('<C:comp-filter name="VALARM"><C:time-range start="20060104T000000Z"/></C:comp-filter>')
        )
        is None
    )
    assert prefilter_range(in_vevent("")) is None


def test_object_span_of_the_appendix_objects():
    assert object_span(APPENDIX_B["event1"]) == ("VEVENT", utc(2006, 1, 2, 15), utc(2006, 1, 2, 16))
    # five daily instances from Jan 2 17:00Z, the last (Jan 6) moved to 19:00Z
    assert object_span(APPENDIX_B["event2"]) == ("VEVENT", utc(2006, 1, 2, 17), utc(2006, 1, 6, 20))
    assert object_span(APPENDIX_B["task1"]) == ("VTODO", utc(2006, 1, 4), utc(2006, 1, 4))
    assert object_span(calendar("", timezones="")) == ("", None, None)


def test_the_filter_module_reexports_the_whole_api():
    for name in query.__all__:
        assert hasattr(query, name), name
    assert fromstring  # defusedxml is what the caller parses with
