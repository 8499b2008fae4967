"""Current or past: whether a calendar object has an occurrence that ends now or later.

Used by published feeds (``feeds.render``) and ICS imports (``jobs.engines.ics_import``) when
``sync_all`` is off. Pure: no ORM, no HTTP; expansion goes through the one bounded expander.
"""

from __future__ import annotations

import datetime as dt

from icalendar import Calendar

from calsync.lib.recurrence import DEFAULT_LIMITS, Limits, RecurrenceError, occurs

# An occurrence further ahead than this does not make an event current.
HORIZON = dt.timedelta(days=100 * 366)


def is_current(
    data: bytes, now: dt.datetime, *, limits: Limits = DEFAULT_LIMITS, hits: list[tuple[str, str]] | None = None
) -> bool:
    """True when the object has an occurrence that ends at or after ``now``.

    Judged by occurrences, not by the master's DTEND: a weekly series that started years ago
    and goes on is current; a series whose last occurrence is past is not. Tasks and journals
    are always current (they have no occurrences to judge by), and so is a series too costly to
    expand (noted in ``hits``).
    """
    calendar = Calendar.from_ical(data)
    events = calendar.walk("VEVENT")
    if not events:
        return True
    try:
        found = occurs(calendar, now, now + HORIZON, components=("VEVENT",), limits=limits)
    except RecurrenceError:  # an unexpandable rule (bad RRULE, odd TZ): keep the event rather than drop it
        return True
    except Exception:  # icalendar raises many unrelated types on odd data: keep it as well
        return True
    if not found.complete:
        if hits is not None:
            hits.append((str(events[0].get("UID", "")), found.detail))
        return True
    return bool(found.instances)
