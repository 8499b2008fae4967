"""The normalised time entry and the marker that ties a Kimai timesheet to its Zammad source.

Kimai has no external-id field on timesheets, so the link travels in the description as
``[zammad-ta-<id>]``: set atomically in the POST, found again by ``term`` search. The token holds
no ``:`` (Kimai would parse it as a meta-field filter) and does not start with ``!``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

MARKER_RE = re.compile(r"\[zammad-ta-(\d+)\]")
# The description starts with the ticket number, which lets a one-ticket sync find its Kimai
# entries with one ``term`` search instead of a listing of every timesheet.
TICKET_RE = re.compile(r"^Zammad #(\S+) ")


def marker_for(source_id: int | str) -> str:
    return f"[zammad-ta-{source_id}]"


def marker_in(description: str | None) -> str | None:
    """The source id a description points at, or None for an entry made by hand."""
    found = MARKER_RE.search(description or "")
    return found.group(1) if found else None


def ticket_number_in(description: str | None) -> str | None:
    found = TICKET_RE.match(description or "")
    return found.group(1) if found else None


def source_href(source_id: int | str) -> str:
    return f"zammad-ta-{source_id}"


def dest_href(kimai_id: int | str) -> str:
    return f"kimai-ts-{kimai_id}"


@dataclass(frozen=True, slots=True)
class TimeEntry:
    """One Zammad time accounting, normalised. ``start`` is aware, in the agent's time zone."""

    source_id: str
    ticket_id: int
    ticket_number: str
    ticket_title: str
    agent_id: int
    start: datetime
    duration_seconds: int
    activity_type: str  # the Zammad type name ("" when the entry has none)
    activity_type_id: int | None
    description: str
    organisation: str
    customer: str

    @property
    def end(self) -> datetime:
        return self.start + timedelta(seconds=self.duration_seconds)

    def kimai_description(self) -> str:
        text = f"Zammad #{self.ticket_number} {self.ticket_title}".strip()
        if self.description:
            text += f": {self.description}"
        return f"{text} {marker_for(self.source_id)}"


@dataclass(frozen=True, slots=True)
class Desired:
    """What the Kimai timesheet for one source entry must look like, after the mappings."""

    source_id: str
    ticket_id: int
    begin: datetime  # aware
    duration_seconds: int
    project: int
    activity: int
    user: int
    description: str

    def fingerprint(self) -> str:
        text = "|".join(
            str(v)
            for v in (
                int(self.begin.timestamp()),
                self.duration_seconds,
                self.project,
                self.activity,
                self.user,
                self.description,
            )
        )
        return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Unresolved:
    """A source entry the mappings cannot place: the reason code says which mapping is missing."""

    source_id: str
    ticket_id: int
    reason: str


@dataclass(frozen=True, slots=True)
class KimaiEntry:
    """A timesheet as Kimai lists it (begin/end parsed; Kimai sends them with an offset)."""

    id: int
    begin: datetime
    end: datetime | None
    duration_seconds: int
    description: str
    project: int
    activity: int
    user: int
    exported: bool = False

    @property
    def marker(self) -> str | None:
        return marker_in(self.description)
