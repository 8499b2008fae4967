"""Writes for booking: availability checks that may refresh busy data, appointments, pulls.

An appointment write commits first and queues its CalDAV push after the commit: the booking is
saved even while the calendar server is down, and pushed when it is back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.connectors.base import ConnectorError
from booking import availability, emails
from booking.models import MAX_INTERVAL, OUT_OF_RANGE, Appointment, Artist, ArtistCalendar, in_bookable_range
from booking.pulls import PullResult, busy_pull, calendar_collection, calendar_connector
from booking.selectors import (
    ACTIVE_STATUSES,
    Answer,
    BusyAge,
    availability_from_db,
    blocking_calendars,
    busy_data_age,
    busy_data_state,
    slots_from_db,
)
from calsync.queue import enqueue, enqueue_now

__all__ = [
    "PullResult",
    "SlotUnavailable",
    "appointment_cancel",
    "appointment_confirm",
    "appointment_create",
    "appointment_update",
    "artist_calendar_check",
    "availability_check",
    "busy_pull",
    "busy_pull_artist",
    "slots_check",
]

# After a failed live check, answer from the database (degraded) for this long before trying again,
# so that a down server does not make every page view wait for a timeout.
RETRY_LIVE_AFTER = timedelta(seconds=30)


class SlotUnavailable(Exception):
    def __init__(self, answer: Answer, *, taken: bool = False) -> None:
        super().__init__(answer.verdict.reason)
        self.answer = answer
        self.taken = taken  # another booking got there first (HTTP 409) rather than "not bookable"


@dataclass(frozen=True, slots=True)
class Freshness:
    degraded: bool
    age_seconds: float | None


def _refresh_busy_data(*, artist: Artist, now: datetime, known_age: BusyAge | None = None) -> Freshness:
    """Pull live when the stored busy data is too old or its last pull failed; say so (degraded)
    when the server cannot be reached."""
    state = known_age if known_age is not None else busy_data_state(artist_id=artist.pk, now=now)
    age = state.seconds
    if age is not None and age <= settings.CALSYNC_BUSY_MAX_AGE_SECONDS and not state.failing:
        return Freshness(False, age)
    degraded = False
    for calendar in blocking_calendars(artist_id=artist.pk):
        # Young data from a calendar whose last pull failed is not fresh: the server may hold
        # changes it could not deliver, so it is asked again (or the answer is degraded).
        fresh = (
            calendar.last_pulled_at
            and calendar.last_pull_ok is not False
            and (now - calendar.last_pulled_at).total_seconds() <= settings.CALSYNC_BUSY_MAX_AGE_SECONDS
        )
        if fresh:
            continue
        if calendar.last_attempt_at and not calendar.last_pull_ok and now - calendar.last_attempt_at < RETRY_LIVE_AFTER:
            degraded = True
            continue
        if not busy_pull(calendar=calendar, timeout=settings.CALSYNC_BUSY_LIVE_TIMEOUT, now=now).ok:
            degraded = True
    return Freshness(degraded, busy_data_age(artist_id=artist.pk, now=now) if degraded else 0.0)


def availability_check(
    *,
    artist: Artist,
    start: datetime,
    end: datetime,
    now: datetime | None = None,
    exclude_appointment_id: int | None = None,
    busy_age: BusyAge | None = None,
) -> Answer:
    """``busy_age``: the age of the busy data when the caller has already read it (else it is read)."""
    now = now or timezone.now()
    freshness = _refresh_busy_data(artist=artist, now=now, known_age=busy_age)
    verdict = availability_from_db(
        artist=artist, start=start, end=end, now=now, exclude_appointment_id=exclude_appointment_id
    )
    return Answer(verdict, degraded=freshness.degraded, data_age_seconds=freshness.age_seconds)


def slots_check(
    *, artist: Artist, day: date, duration: timedelta, now: datetime | None = None
) -> tuple[list[datetime], Freshness]:
    now = now or timezone.now()
    freshness = _refresh_busy_data(artist=artist, now=now)
    return slots_from_db(artist=artist, day=day, duration=duration, now=now), freshness


def _validate_times(start: datetime, end: datetime) -> None:
    if not (in_bookable_range(start) and in_bookable_range(end)):
        raise ValidationError({"start": OUT_OF_RANGE})
    if end <= start:
        raise ValidationError({"end": "The end must be after the start."})
    if end - start > MAX_INTERVAL:
        raise ValidationError({"end": f"An appointment lasts at most {MAX_INTERVAL}."})


def _taken_answer() -> Answer:
    return Answer(availability.Verdict(False, "taken"))


def _insert_checked(appointment: Appointment, *, now: datetime) -> None:
    """Check-then-write in one transaction: serialised on SQLite (IMMEDIATE), and the exclusion
    constraint decides on PostgreSQL when two transactions pass the check at once."""
    try:
        with transaction.atomic():
            verdict = availability_from_db(
                artist=appointment.artist,
                start=appointment.start,
                end=appointment.end,
                now=now,
                exclude_appointment_id=appointment.pk,
            )
            if not verdict.available:
                raise SlotUnavailable(Answer(verdict), taken=verdict.reason == "busy")
            appointment.save()
    except IntegrityError:
        if (
            Appointment.objects.filter(
                artist_id=appointment.artist_id,
                status__in=ACTIVE_STATUSES,
                start__lt=appointment.end,
                end__gt=appointment.start,
            )
            .exclude(pk=appointment.pk)
            .exists()
        ):
            raise SlotUnavailable(_taken_answer(), taken=True) from None
        raise


def _queue_push(appointment_id: int) -> None:
    from booking.tasks import appointment_push_task

    enqueue(appointment_push_task, appointment_id)


def appointment_create(
    *,
    artist: Artist,
    client_name: str,
    client_email: str,
    start: datetime,
    end: datetime,
    client_phone: str = "",
    description: str = "",
    now: datetime | None = None,
) -> tuple[Appointment, Answer]:
    """A booking request: pending until a human confirms it; refused when the slot is not free.

    When the calendar could not be checked (degraded) the request is still taken as pending and
    flagged for review; it is never confirmed automatically.
    """
    now = now or timezone.now()
    _validate_times(start, end)
    answer = availability_check(artist=artist, start=start, end=end, now=now)
    if not answer.verdict.available:
        raise SlotUnavailable(answer)
    calendar = ArtistCalendar.objects.filter(artist=artist, receives_appointments=True).order_by("id").first()
    appointment = Appointment(
        artist=artist,
        client_name=client_name,
        client_email=client_email,
        client_phone=client_phone,
        start=start,
        end=end,
        description=description,
        status=Appointment.Status.PENDING,
        needs_review=answer.degraded,
        calendar=calendar,
        push_state=Appointment.PushState.QUEUED if calendar else Appointment.PushState.SYNCED,
    )
    appointment.full_clean(validate_constraints=False)
    with transaction.atomic():
        _insert_checked(appointment, now=now)
        if calendar:
            _queue_push(appointment.pk)
        emails.booking_mail_queue(appointment=appointment, event=emails.REQUESTED)
    return appointment, answer


def _mark_owed(appointment: Appointment) -> list[str]:
    """A new change is owed to the calendar afresh: earlier failed attempts no longer count."""
    appointment.push_state = Appointment.PushState.QUEUED if appointment.calendar_id else Appointment.PushState.SYNCED
    appointment.push_attempts, appointment.push_next_at = 0, None
    return ["push_state", "push_attempts", "push_next_at", "updated_at"]


def _save_and_push(appointment: Appointment, fields: list[str]) -> Appointment:
    owed = _mark_owed(appointment)
    with transaction.atomic():
        appointment.save(update_fields=[*fields, *owed])
        if appointment.calendar_id:
            _queue_push(appointment.pk)
    return appointment


def appointment_confirm(*, appointment: Appointment) -> Appointment:
    if appointment.status == Appointment.Status.CANCELLED:
        raise ValidationError("A cancelled appointment cannot be confirmed; book it again.")
    was_confirmed = appointment.status == Appointment.Status.CONFIRMED
    appointment.status = Appointment.Status.CONFIRMED
    appointment.needs_review = False
    _save_and_push(appointment, ["status", "needs_review"])
    if not was_confirmed:
        emails.booking_mail_queue(appointment=appointment, event=emails.CONFIRMED)
    return appointment


def appointment_push_again(*, appointment: Appointment) -> Appointment:
    """Staff ask for a push that needs attention (or any other) to be tried again now."""
    return _save_and_push(appointment, [])


def appointment_cancel(*, appointment: Appointment) -> Appointment:
    was_cancelled = appointment.status == Appointment.Status.CANCELLED
    appointment.status = Appointment.Status.CANCELLED
    _save_and_push(appointment, ["status"])
    if not was_cancelled:
        emails.booking_mail_queue(appointment=appointment, event=emails.CANCELLED)
    return appointment


UPDATABLE = ("client_name", "client_email", "client_phone", "description", "start", "end")


def appointment_update(*, appointment: Appointment, now: datetime | None = None, **changes: object) -> Appointment:
    """Change details or times (staff); a new time must be free like a new booking."""
    unknown = set(changes) - set(UPDATABLE)
    if unknown:
        raise ValidationError(f"Cannot change {', '.join(sorted(unknown))}.")
    moved = any(key in changes and changes[key] != getattr(appointment, key) for key in ("start", "end"))
    for key, value in changes.items():
        setattr(appointment, key, value)
    _validate_times(appointment.start, appointment.end)
    appointment.full_clean(validate_constraints=False)
    if not moved or appointment.status == Appointment.Status.CANCELLED:
        return _save_and_push(appointment, list(changes))
    owed = _mark_owed(appointment)
    with transaction.atomic():
        # Staff may place an appointment outside working hours; only overlaps are refused.
        _insert_checked_overlap_only(appointment, fields=[*changes, *owed])
        if appointment.calendar_id:
            _queue_push(appointment.pk)
        emails.booking_mail_queue(appointment=appointment, event=emails.MOVED)
    return appointment


def _insert_checked_overlap_only(appointment: Appointment, *, fields: list[str]) -> None:
    # Only the changed columns: a push may have stored a newer etag since this row was read.
    try:
        with transaction.atomic():
            clash = Appointment.objects.filter(
                artist_id=appointment.artist_id,
                status__in=ACTIVE_STATUSES,
                start__lt=appointment.end,
                end__gt=appointment.start,
            ).exclude(pk=appointment.pk)
            if appointment.status != Appointment.Status.CANCELLED and clash.exists():
                raise SlotUnavailable(_taken_answer(), taken=True)
            appointment.save(update_fields=fields)
    except IntegrityError:
        raise SlotUnavailable(_taken_answer(), taken=True) from None


def busy_pull_artist(
    *, artist: Artist | None = None, window: tuple[datetime, datetime] | None = None
) -> list[PullResult]:
    """Pull every blocking or receiving calendar (of one artist, or of every active artist),
    over ``window`` as well as the rolling window when one is given."""
    calendars = ArtistCalendar.objects.select_related("account", "artist").filter(artist__active=True)
    if artist is not None:
        calendars = calendars.filter(artist=artist)
    return [busy_pull(calendar=calendar, window=window) for calendar in calendars]


@dataclass(frozen=True, slots=True)
class CalendarCheck:
    ok: bool
    message: str


def artist_calendar_check(*, calendar: ArtistCalendar) -> CalendarCheck:
    """Test the connection: list the calendar's items with a short timeout, one attempt.

    The diagnosis goes back to the browser, so the password is redacted even if a server echoes it.
    """
    from accounts.services import redact

    password = calendar.account.connector_config().password
    try:
        with calendar_connector(calendar, timeout=settings.CALSYNC_BUSY_LIVE_TIMEOUT * 3) as dav:  # type: ignore[attr-defined]
            listing = dav.list_items(calendar_collection(calendar))
    except ConnectorError as exc:
        message = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return CalendarCheck(False, redact(message, secret=password))
    return CalendarCheck(True, f"Connected: {len(listing.items)} items in the calendar.")


def busy_pull_queue(*, artist: Artist | None, start: str | None = None, end: str | None = None) -> None:
    """Queue a pull of one artist's calendars (or everyone's) over ``[start, end)`` (ISO strings);
    it writes nothing a worker must wait for, so it is sent at once."""
    from booking.tasks import busy_pull_all_task, busy_pull_artist_task

    window = {key: value for key, value in (("start", start), ("end", end)) if value is not None}
    if artist is not None:
        enqueue_now(busy_pull_artist_task, artist.pk, **window)
    else:
        enqueue_now(busy_pull_all_task, **window)
