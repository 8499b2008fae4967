"""Poison calendar objects: recurrences that an unbounded expander turns into gigabytes.

Shared by the tests that put them in real calendars (booking pulls, the CalDAV server, feeds) and by
``bench/poison_bench.py``. Each is a standalone VCALENDAR that a CalDAV server stores happily.
"""

from __future__ import annotations

from datetime import datetime, timedelta

EXDATES = 3000


def _object(uid: str, start: datetime, *lines: str) -> bytes:
    text = [
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//poison//EN", "BEGIN:VEVENT", f"UID:{uid}",
        "DTSTAMP:20260101T000000Z", f"DTSTART:{start:%Y%m%dT%H%M%SZ}",
        f"DTEND:{start + timedelta(seconds=1):%Y%m%dT%H%M%SZ}", f"SUMMARY:{uid}", *lines,
        "END:VEVENT", "END:VCALENDAR", "",
    ]  # fmt: skip
    return "\r\n".join(text).encode()


def poison_objects(now: datetime) -> dict[str, bytes]:
    """UID → object: every second forever, every minute with thousands of EXDATEs, a billion seconds."""
    start = now.replace(microsecond=0) - timedelta(days=1)
    exdates = [f"EXDATE:{start + timedelta(minutes=2 * n + 1):%Y%m%dT%H%M%SZ}" for n in range(EXDATES)]
    return {
        "poison-secondly": _object("poison-secondly", start, "RRULE:FREQ=SECONDLY"),
        "poison-minutely-exdates": _object("poison-minutely-exdates", start, "RRULE:FREQ=MINUTELY", *exdates),
        "poison-count-billion": _object("poison-count-billion", start, "RRULE:FREQ=SECONDLY;COUNT=1000000000"),
    }
