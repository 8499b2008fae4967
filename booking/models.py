"""Artists, their calendars, appointments and the busy time pulled from CalDAV.

Overlap queries (``start < E AND end > S``) use an ``(artist, start)`` index with a lower bound on
``start``: no stored interval is longer than ``MAX_INTERVAL`` (longer busy events are stored in
pieces, appointments are validated), so ``start >= S - MAX_INTERVAL`` keeps the index range short.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import DateTimeRangeField, RangeBoundary, RangeOperators
from django.core.exceptions import ValidationError
from django.db import connections, models
from django.db.models import Func, Q

from accounts.models import Account
from calsync.validators import validate_time_zone

MAX_INTERVAL = timedelta(days=2)
# Times a booking, an availability question or a slot list may name. Far enough either way for any
# real calendar, and far from datetime's year 1 and year 9999, where the arithmetic of a check
# (buffers, MAX_INTERVAL, time-zone offsets) would overflow into a 500.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
OUT_OF_RANGE = "Dates must lie between 1970 and 2199."
# Artist ids are database integers; a longer string of digits names no artist.
MAX_ID = 2**63 - 1


def in_bookable_range(moment: datetime) -> bool:
    try:
        return EARLIEST <= moment < LATEST
    except OverflowError:  # year 1 or 9999 shifted across UTC by its offset
        return False


def artist_id_in(ref: str) -> int | None:
    """The id a reference names, if it is one: ASCII digits within the integer column's range.

    ``str.isdigit`` also accepts "²" and Arabic-Indic digits, which ``int`` refuses or reads.
    """
    if not (ref.isascii() and ref.isdigit()) or len(ref) > 19:
        return None
    value = int(ref)
    return value if value <= MAX_ID else None


def validate_working_hours(value: object) -> None:
    """Refuse hours the availability check could not read: a typo in the admin must not break booking."""
    from booking.availability import parse_working_hours

    try:
        if not isinstance(value, dict):
            raise ValueError('use an object such as {"0": [["10:00", "18:00"]]}')
        parse_working_hours(value)
    except (ValueError, TypeError) as exc:
        raise ValidationError(f"Working hours: {exc}") from None


def default_working_hours() -> dict[str, list[list[str]]]:
    """Monday (0) to Friday 10:00-18:00 local time; weekend closed."""
    return {str(day): [["10:00", "18:00"]] for day in range(5)}


def new_uid() -> str:
    return f"{uuid.uuid4()}@calsync"


class Artist(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(unique=True)
    email = models.EmailField(blank=True)
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    active = models.BooleanField(default=True)
    # {"0": [["10:00", "18:00"]], ...}: weekday (Monday = 0) -> local [from, to) ranges.
    working_hours = models.JSONField(default=default_working_hours, validators=[validate_working_hours])
    buffer_minutes = models.PositiveIntegerField(default=0, help_text="Free time kept between appointments.")
    min_notice_minutes = models.PositiveIntegerField(default=120, help_text="How far ahead a booking must be.")
    slot_step_minutes = models.PositiveIntegerField(default=30, help_text="Spacing of offered start times.")

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class ArtistCalendar(models.Model):
    """One CalDAV calendar of an artist: read for busy time, and/or the target of appointments."""

    artist = models.ForeignKey(Artist, on_delete=models.CASCADE, related_name="calendars")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="artist_calendars")
    calendar_url = models.CharField("calendar URL", max_length=500)
    blocks_time = models.BooleanField(default=True, help_text="Events in this calendar make the artist busy.")
    receives_appointments = models.BooleanField(default=True, help_text="Appointments are written here.")
    sync_token = models.TextField(blank=True)
    last_pulled_at = models.DateTimeField(null=True, blank=True, help_text="Last successful pull.")
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_full_pull_at = models.DateTimeField(null=True, blank=True)
    last_pull_ok = models.BooleanField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["artist_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["artist", "calendar_url"], name="artist_calendar_unique_url"),
        ]

    def __str__(self) -> str:
        return f"{self.artist}: {self.calendar_url}"


class TsTzRange(Func):
    function = "TSTZRANGE"
    output_field = DateTimeRangeField()


class Appointment(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        CONFIRMED = "confirmed"
        CANCELLED = "cancelled"

    class PushState(models.TextChoices):
        # Owed: not yet on the server (or a change not yet written); retried until it lands.
        QUEUED = "queued", "queued (owed, retried automatically)"
        SYNCED = "synced"
        # Needs attention: the server kept refusing it (see push_error); retried only on request.
        FAILED = "failed", "failed (needs attention)"
        CONFLICT = "conflict", "conflict (needs attention)"  # the artist changed the event; ours was not written

    NEEDS_ATTENTION = (PushState.FAILED, PushState.CONFLICT)

    artist = models.ForeignKey(Artist, on_delete=models.PROTECT, related_name="appointments")
    client_name = models.CharField(max_length=200)
    client_email = models.EmailField()
    client_phone = models.CharField(max_length=50, blank=True)
    start = models.DateTimeField()
    end = models.DateTimeField()
    description = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    # The answer was degraded (calendar unreachable): a human must confirm.
    needs_review = models.BooleanField(default=False)
    calendar = models.ForeignKey(ArtistCalendar, on_delete=models.SET_NULL, null=True, blank=True)
    caldav_uid = models.CharField(max_length=200, unique=True, default=new_uid)
    caldav_href = models.CharField(max_length=500, blank=True)
    caldav_etag = models.CharField(max_length=200, blank=True)
    push_state = models.CharField(max_length=10, choices=PushState.choices, default=PushState.QUEUED)
    push_error = models.TextField(blank=True, help_text="Why the last push attempt failed.")
    push_attempts = models.PositiveIntegerField(default=0, help_text="Failed attempts at the owed push.")
    push_next_at = models.DateTimeField(
        null=True, blank=True, help_text="When the owed push is tried again (the periodic sweep's clock)."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["start", "id"]
        indexes = [
            models.Index(fields=["artist", "start"], name="appointment_artist_start"),
            # The sweep's query: owed pushes that are due.
            models.Index(fields=["push_state", "push_next_at"], name="appointment_push_due"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(end__gt=models.F("start")), name="appointment_end_after_start"),
            # PostgreSQL only (the migration skips it elsewhere): the real double-booking guard.
            ExclusionConstraint(
                name="appointment_no_overlap",
                expressions=[
                    ("artist", RangeOperators.EQUAL),
                    (TsTzRange("start", "end", RangeBoundary()), RangeOperators.OVERLAPS),
                ],
                condition=Q(status__in=["pending", "confirmed"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.client_name} with {self.artist} at {self.start:%Y-%m-%d %H:%M}"

    def get_constraints(self):
        # The exclusion constraint exists on PostgreSQL only; elsewhere validating it would send
        # TSTZRANGE to a database that does not know it. Services check overlaps themselves.
        if connections["default"].vendor == "postgresql":
            return super().get_constraints()
        return [
            (cls, [c for c in constraints if not isinstance(c, ExclusionConstraint)])
            for cls, constraints in super().get_constraints()
        ]


class BusyBlock(models.Model):
    """A busy interval of one event (one occurrence of a recurring one), keyed by calendar+href."""

    calendar = models.ForeignKey(ArtistCalendar, on_delete=models.CASCADE, related_name="busy_blocks")
    artist = models.ForeignKey(Artist, on_delete=models.CASCADE, related_name="busy_blocks")  # for the index
    href = models.CharField(max_length=500)
    etag = models.CharField(max_length=200, blank=True)
    uid = models.CharField(max_length=500, blank=True)
    summary = models.CharField(max_length=300, blank=True)
    start = models.DateTimeField()
    end = models.DateTimeField()
    all_day = models.BooleanField(default=False)

    class Meta:
        indexes = [
            models.Index(fields=["artist", "start"], name="busyblock_artist_start"),
            models.Index(fields=["calendar", "href"], name="busyblock_calendar_href"),
        ]

    def __str__(self) -> str:
        return f"{self.summary or self.uid} {self.start:%Y-%m-%d %H:%M}"


class CalendarSyncLog(models.Model):
    class Direction(models.TextChoices):
        PULL = "pull"
        PUSH = "push"

    class Status(models.TextChoices):
        OK = "ok"
        ERROR = "error"
        CONFLICT = "conflict"

    calendar = models.ForeignKey(ArtistCalendar, on_delete=models.SET_NULL, null=True, blank=True)
    appointment = models.ForeignKey(Appointment, on_delete=models.SET_NULL, null=True, blank=True)
    direction = models.CharField(max_length=4, choices=Direction.choices)
    action = models.CharField(max_length=30)
    status = models.CharField(max_length=10, choices=Status.choices)
    message = models.TextField(blank=True)
    items = models.PositiveIntegerField(default=0)
    duration_ms = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.direction} {self.action} {self.status}"
