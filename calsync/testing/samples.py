"""Calendar objects and vCards as messy as real exports, for tests and benchmarks.

Each generator is deterministic in its index, so a benchmark of thousands of objects and a test
of a dozen draw from the same shapes: time-zoned events with their VTIMEZONE, all-day and
floating events, recurring series with EXDATEs and an override travelling with the master,
attendees, alarms, attachments and X- properties, tasks, journals, vCard 3 with a photo, vCard 4,
and both group dialects (Apple's KIND/MEMBER and CATEGORIES).
"""

from __future__ import annotations

import base64

BERLIN = (
    "BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\nBEGIN:DAYLIGHT\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\n"
    "TZNAME:CEST\r\nDTSTART:19700329T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nEND:DAYLIGHT\r\n"
    "BEGIN:STANDARD\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nTZNAME:CET\r\nDTSTART:19701025T030000\r\n"
    "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n"
)


def _calendar(body: str, prodid: str = "-//Google Inc//Google Calendar 70.9054//EN") -> bytes:
    head = f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:{prodid}\r\nCALSCALE:GREGORIAN\r\n"
    return f"{head}{body}END:VCALENDAR\r\n".encode()


def timed_event(n: int) -> bytes:
    day = 1 + n % 28
    return _calendar(
        BERLIN + f"BEGIN:VEVENT\r\nUID:timed-{n}@calsync.test\r\nDTSTAMP:20260101T000000Z\r\n"
        f"DTSTART;TZID=Europe/Berlin:202603{day:02d}T09{n % 60:02d}00\r\n"
        f"DTEND;TZID=Europe/Berlin:202603{day:02d}T10{n % 60:02d}00\r\nSUMMARY:Standup {n}\r\n"
        "LOCATION:Room 4\\, second floor\r\nDESCRIPTION:Agenda:\\n- status\\n- blockers\r\n"
        "ORGANIZER;CN=Ann Example:mailto:ann@example.com\r\n"
        "ATTENDEE;CN=Bob;ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED:mailto:bob@example.com\r\n"
        "ATTACH;FMTTYPE=application/pdf:https://files.example.com/agenda.pdf\r\n"
        "X-MICROSOFT-CDO-BUSYSTATUS:BUSY\r\nX-CALSYNC-TEST;X-PARAM=kept:value survives\r\n"
        "BEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:Reminder\r\nTRIGGER:-PT10M\r\nEND:VALARM\r\n"
        "END:VEVENT\r\n"
    )


def all_day_event(n: int) -> bytes:
    month = 1 + n % 12
    return _calendar(
        f"BEGIN:VEVENT\r\nUID:allday-{n}@calsync.test\r\nDTSTAMP:20260101T000000Z\r\n"
        f"DTSTART;VALUE=DATE:2026{month:02d}15\r\nDTEND;VALUE=DATE:2026{month:02d}16\r\n"
        f"SUMMARY:Holiday {n}\r\nTRANSP:TRANSPARENT\r\nEND:VEVENT\r\n",
        prodid="-//Apple Inc.//macOS 15.0//EN",
    )


def floating_event(n: int) -> bytes:
    return _calendar(
        f"BEGIN:VEVENT\r\nUID:floating-{n}@calsync.test\r\nDTSTAMP:20260101T000000Z\r\n"
        f"DTSTART:20260401T{8 + n % 10:02d}0000\r\nDURATION:PT45M\r\nSUMMARY:Floating {n}\r\nEND:VEVENT\r\n"
    )


def recurring_event(n: int) -> bytes:
    """A weekly series with two EXDATEs and one moved occurrence, master first."""
    return _calendar(
        BERLIN + f"BEGIN:VEVENT\r\nUID:series-{n}@calsync.test\r\nDTSTAMP:20260101T000000Z\r\n"
        "DTSTART;TZID=Europe/Berlin:20260105T140000\r\nDTEND;TZID=Europe/Berlin:20260105T150000\r\n"
        f"RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=20\r\nSUMMARY:Weekly review {n}\r\n"
        "EXDATE;TZID=Europe/Berlin:20260112T140000,20260119T140000\r\nEND:VEVENT\r\n"
        f"BEGIN:VEVENT\r\nUID:series-{n}@calsync.test\r\nDTSTAMP:20260101T000000Z\r\n"
        "RECURRENCE-ID;TZID=Europe/Berlin:20260126T140000\r\n"
        "DTSTART;TZID=Europe/Berlin:20260127T160000\r\nDTEND;TZID=Europe/Berlin:20260127T170000\r\n"
        f"SUMMARY:Weekly review {n} (moved)\r\nEND:VEVENT\r\n",
        prodid="-//Microsoft Corporation//Outlook 16.0 MIMEDIR//EN",
    )


def task(n: int) -> bytes:
    status = ("NEEDS-ACTION", "IN-PROCESS", "COMPLETED")[n % 3]
    completed = "COMPLETED:20260302T120000Z\r\nPERCENT-COMPLETE:100\r\n" if status == "COMPLETED" else ""
    return _calendar(
        f"BEGIN:VTODO\r\nUID:task-{n}@calsync.test\r\nDTSTAMP:20260101T000000Z\r\nSUMMARY:Task {n}\r\n"
        f"DUE;VALUE=DATE:20260310\r\nPRIORITY:{1 + n % 9}\r\nSTATUS:{status}\r\n{completed}"
        "CATEGORIES:work,urgent\r\nEND:VTODO\r\n"
    )


def journal(n: int) -> bytes:
    return _calendar(
        f"BEGIN:VJOURNAL\r\nUID:journal-{n}@calsync.test\r\nDTSTAMP:20260101T000000Z\r\n"
        f"DTSTART;VALUE=DATE:20260301\r\nSUMMARY:Notes {n}\r\nDESCRIPTION:Line one\\nLine two\r\nEND:VJOURNAL\r\n"
    )


EVENT_SHAPES = (timed_event, all_day_event, floating_event, recurring_event)


def calendar_objects(count: int, *, tasks_every: int = 5) -> list[bytes]:
    """``count`` objects: events of every shape, with a task every ``tasks_every``-th."""
    objects = []
    for n in range(count):
        if tasks_every and n % tasks_every == tasks_every - 1:
            objects.append(task(n))
        else:
            objects.append(EVENT_SHAPES[n % len(EVENT_SHAPES)](n))
    return objects


PHOTO = base64.b64encode(bytes(range(256)) * 8).decode()


def vcard3(n: int) -> bytes:
    photo = "".join(f"\r\n {PHOTO[i : i + 74]}" for i in range(74, len(PHOTO), 74))
    return (
        f"BEGIN:VCARD\r\nVERSION:3.0\r\nUID:card3-{n}@calsync.test\r\nFN:Person {n}\r\nN:{n};Person;;;\r\n"
        f"EMAIL;TYPE=INTERNET,WORK:person{n}@example.com\r\nTEL;TYPE=CELL:+49 30 {n:07d}\r\n"
        "item1.ADR;TYPE=HOME:;;Main St 1;Berlin;;10115;Germany\r\nitem1.X-ABLABEL:_$!<Home>!$_\r\n"
        "CATEGORIES:Friends\r\nX-SOCIALPROFILE;TYPE=mastodon:https://social.example/@p\r\n"
        f"PHOTO;ENCODING=b;TYPE=JPEG:{PHOTO[:74]}{photo}\r\nEND:VCARD\r\n"
    ).encode()


def vcard4(n: int) -> bytes:
    return (
        f"BEGIN:VCARD\r\nVERSION:4.0\r\nUID:urn:uuid:00000000-0000-4000-8000-{n:012d}\r\nFN:Member {n}\r\n"
        f"N:{n};Member;;;\r\nEMAIL;TYPE=work;PREF=1:member{n}@example.org\r\nBDAY:--0412\r\n"
        "CATEGORIES:Team\r\nEND:VCARD\r\n"
    ).encode()


def apple_group(n: int, members: list[str]) -> bytes:
    lines = "".join(f"X-ADDRESSBOOKSERVER-MEMBER:urn:uuid:{uid}\r\n" for uid in members)
    return (
        f"BEGIN:VCARD\r\nVERSION:3.0\r\nUID:group-{n}@calsync.test\r\nFN:Group {n}\r\nN:Group {n};;;;\r\n"
        f"X-ADDRESSBOOKSERVER-KIND:group\r\n{lines}END:VCARD\r\n"
    ).encode()


def vcard4_group(n: int, members: list[str]) -> bytes:
    lines = "".join(f"MEMBER:urn:uuid:{uid}\r\n" for uid in members)
    head = f"BEGIN:VCARD\r\nVERSION:4.0\r\nUID:urn:uuid:group4-{n}\r\nKIND:group\r\nFN:Team {n}\r\n"
    return f"{head}{lines}END:VCARD\r\n".encode()


def contacts(count: int) -> list[bytes]:
    cards: list[bytes] = []
    for n in range(count):
        if n % 50 == 49:
            cards.append(apple_group(n, [f"card3-{m}@calsync.test" for m in range(n - 3, n)]))
        elif n % 50 == 48:
            cards.append(vcard4_group(n, [f"00000000-0000-4000-8000-{m:012d}" for m in range(n - 3, n)]))
        else:
            cards.append((vcard3 if n % 2 else vcard4)(n))
    return cards
