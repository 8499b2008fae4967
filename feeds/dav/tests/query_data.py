"""iCalendar test data for the query tests: RFC 4791 Appendix B's objects and small builders.

The Appendix B objects are the ones the RFC's own §7.8 and §7.10 examples run against (US/Eastern, a
recurring event with two moved instances, a tentative meeting with attendees).
"""

from __future__ import annotations

from datetime import UTC, datetime

import icalendar
from defusedxml.ElementTree import fromstring

from feeds.dav.query import CompFilter, parse_filter

US_EASTERN = """BEGIN:VTIMEZONE
LAST-MODIFIED:20040110T032845Z
TZID:US/Eastern
BEGIN:DAYLIGHT
DTSTART:20000404T020000
RRULE:FREQ=YEARLY;BYDAY=1SU;BYMONTH=4
TZNAME:EDT
TZOFFSETFROM:-0500
TZOFFSETTO:-0400
END:DAYLIGHT
BEGIN:STANDARD
DTSTART:20001026T020000
RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10
TZNAME:EST
TZOFFSETFROM:-0400
TZOFFSETTO:-0500
END:STANDARD
END:VTIMEZONE
"""

EVENT_1 = """BEGIN:VEVENT
DTSTAMP:20060206T001102Z
DTSTART;TZID=US/Eastern:20060102T100000
DURATION:PT1H
SUMMARY:Event #1
Description:Go Steelers!
UID:74855313FA803DA593CD579A@example.com
END:VEVENT
"""

EVENT_2 = """BEGIN:VEVENT
DTSTAMP:20060206T001121Z
DTSTART;TZID=US/Eastern:20060102T120000
DURATION:PT1H
RRULE:FREQ=DAILY;COUNT=5
SUMMARY:Event #2
UID:00959BC664CA650E933C892C@example.com
END:VEVENT
BEGIN:VEVENT
DTSTAMP:20060206T001121Z
DTSTART;TZID=US/Eastern:20060104T140000
DURATION:PT1H
RECURRENCE-ID;TZID=US/Eastern:20060104T120000
SUMMARY:Event #2 bis
UID:00959BC664CA650E933C892C@example.com
END:VEVENT
BEGIN:VEVENT
DTSTAMP:20060206T001121Z
DTSTART;TZID=US/Eastern:20060106T140000
DURATION:PT1H
RECURRENCE-ID;TZID=US/Eastern:20060106T120000
SUMMARY:Event #2 bis bis
UID:00959BC664CA650E933C892C@example.com
END:VEVENT
"""

EVENT_3 = """BEGIN:VEVENT
ATTENDEE;PARTSTAT=ACCEPTED;ROLE=CHAIR:mailto:cyrus@example.com
ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:lisa@example.com
DTSTAMP:20060206T001220Z
DTSTART;TZID=US/Eastern:20060104T100000
DURATION:PT1H
LAST-MODIFIED:20060206T001330Z
ORGANIZER:mailto:cyrus@example.com
SEQUENCE:1
STATUS:TENTATIVE
SUMMARY:Event #3
UID:DC6C50A017428C5216A2F1CD@example.com
END:VEVENT
"""

TASK_1 = """BEGIN:VTODO
DTSTAMP:20060205T235335Z
DUE;VALUE=DATE:20060104
STATUS:NEEDS-ACTION
SUMMARY:Task #1
UID:DDDEEB7915FA61233B861457@example.com
BEGIN:VALARM
ACTION:AUDIO
TRIGGER;RELATED=START:-PT10M
END:VALARM
END:VTODO
"""

# A due-only task whose START-related alarm fires at 16:50Z on Jan 6, the shape §7.8.5 asks for.
TASK_2 = """BEGIN:VTODO
DTSTAMP:20060205T235300Z
DUE;TZID=US/Eastern:20060106T120000
SEQUENCE:1
STATUS:NEEDS-ACTION
SUMMARY:Task #2
UID:E10BA47467C5C69BB74E8720@example.com
BEGIN:VALARM
ACTION:AUDIO
TRIGGER;RELATED=START:-PT10M
END:VALARM
END:VTODO
"""

TASK_DONE = """BEGIN:VTODO
COMPLETED:20051223T122322Z
DTSTAMP:20060205T235400Z
DUE;VALUE=DATE:20051220
STATUS:COMPLETED
SUMMARY:Task #3
UID:E10BA47467C5C69BB74E8722@example.com
END:VTODO
"""

TASK_CANCELLED = """BEGIN:VTODO
DTSTAMP:20060205T235600Z
DUE;VALUE=DATE:20060101
STATUS:CANCELLED
SUMMARY:Task #4
UID:E10BA47467C5C69BB74E8725@example.com
END:VTODO
"""


def calendar(*components: str, timezones: str = US_EASTERN) -> icalendar.Calendar:
    """One calendar object resource around the given component texts (newlines become CRLF)."""
    text = "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//Example Corp.//CalDAV Client//EN\n"
    text += timezones + "".join(components) + "END:VCALENDAR\n"
    return icalendar.Calendar.from_ical(text.replace("\n", "\r\n"))


def event(*lines: str, uid: str = "e@example.com") -> icalendar.Calendar:
    """A calendar holding one VEVENT with the given content lines (plus UID and DTSTAMP)."""
    return calendar(_component("VEVENT", lines, uid), timezones="")


def todo(*lines: str, uid: str = "t@example.com") -> icalendar.Calendar:
    return calendar(_component("VTODO", lines, uid), timezones="")


def _component(name: str, lines: tuple[str, ...], uid: str) -> str:
    body = "".join(line + "\n" for line in lines)
    return f"BEGIN:{name}\nUID:{uid}\nDTSTAMP:20240101T000000Z\n{body}END:{name}\n"


def xml_filter(inner: str) -> CompFilter:
    """parse_filter over a CALDAV:filter element wrapped around ``inner`` (C: is the CalDAV namespace)."""
    text = f'<C:filter xmlns:C="urn:ietf:params:xml:ns:caldav" xmlns:D="DAV:">{inner}</C:filter>'
    return parse_filter(fromstring(text))


def events_between(start: str, end: str, name: str = "VEVENT") -> CompFilter:
    """VCALENDAR > name with a time-range; either bound may be "" for open."""
    attrs = "".join(f' {key}="{value}"' for key, value in (("start", start), ("end", end)) if value)
    return xml_filter(
        f'<C:comp-filter name="VCALENDAR"><C:comp-filter name="{name}"><C:time-range{attrs}/>'
        "</C:comp-filter></C:comp-filter>"
    )


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)
