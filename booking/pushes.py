"""Make the artist's calendar show an appointment as it is now (create, update, delete).

A push is idempotent: it reads the appointment and writes its current state, so a retried or
duplicated task does no harm. Updates and deletes carry ``If-Match`` with the stored etag; a 412
means the artist changed the event: we re-read it, record a conflict and keep their version.
The href is always the one the server gave; it is never rebuilt from the UID.

Nothing is lost while the calendar is down: a push that did not land stays owed on the
appointment (``push_state`` queued, ``push_attempts``, ``push_error``, ``push_next_at``). The task
retries it with backoff, and a periodic sweep queues every owed push that is due, so a lost
message or an exhausted retry budget only delays it. A push the server keeps refusing (403, 415,
a calendar that is gone) needs attention after ``CALSYNC_PUSH_MAX_REFUSALS`` attempts.
"""

from __future__ import annotations

import random
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from accounts.connectors.base import ConnectorError, NotFound, PreconditionFailed, TransientError
from booking.ical import EventFacts, appointment_event, event_times
from booking.models import Appointment, CalendarSyncLog
from booking.pulls import calendar_collection, calendar_connector


def appointment_facts(appointment: Appointment) -> EventFacts:
    details = [f"Client: {appointment.client_name} <{appointment.client_email}>"] if appointment.client_email else []
    if appointment.client_phone:
        details.append(f"Phone: {appointment.client_phone}")
    if appointment.description:
        details += ["", appointment.description]
    return EventFacts(
        uid=appointment.caldav_uid,
        start=appointment.start,
        end=appointment.end,
        summary=appointment.client_name,
        description="\n".join(details),
        confirmed=appointment.status == Appointment.Status.CONFIRMED,
    )


class PushOwed(TransientError):
    """The push did not land for a passing reason and is owed; ``retry_in`` seconds from now."""

    def __init__(self, message: str, *, retry_in: float) -> None:
        super().__init__(message)
        self.retry_in = retry_in


def push_retry_delay(attempts: int) -> float:
    """Seconds before attempt ``attempts + 1``: base * 3^(attempts-1), capped, with 10% jitter so
    that the pushes of one outage do not all come back in the same second."""
    base, cap = settings.CALSYNC_PUSH_RETRY_BASE_SECONDS, settings.CALSYNC_PUSH_RETRY_MAX_SECONDS
    delay = min(base * 3 ** max(attempts - 1, 0), cap)
    return delay * random.uniform(1.0, 1.1)  # noqa: S311 (jitter, not a secret)


def appointment_push(*, appointment_id: int) -> str:
    """Push one appointment; returns what happened. Raises ``PushOwed`` (a ``TransientError``)
    when the server could not be reached: the push stays owed and the task retries it."""
    appointment = Appointment.objects.select_related("calendar__account").filter(pk=appointment_id).first()
    if appointment is None or appointment.calendar is None:
        return "skipped"
    began = time.monotonic()
    try:
        with calendar_connector(appointment.calendar) as dav:  # type: ignore[attr-defined]
            outcome = _push(dav, appointment)
    except TransientError as exc:
        retry_in = max(_owe(appointment, exc), exc.retry_after or 0.0)
        _log(appointment, "retry", CalendarSyncLog.Status.ERROR, f"will retry in {retry_in:.0f} s: {exc}", began)
        raise PushOwed(str(exc), retry_in=retry_in) from exc
    except ConnectorError as exc:
        if _owe(appointment, exc, refused=True):
            _log(appointment, "refused", CalendarSyncLog.Status.ERROR, f"will retry: {exc}", began)
            return "refused"
        _log(appointment, "failed", CalendarSyncLog.Status.ERROR, f"needs attention: {exc}", began)
        return "failed"
    return outcome if outcome == "conflict" else _done(appointment, outcome, began)


def _owe(appointment: Appointment, exc: ConnectorError, *, refused: bool = False) -> float:
    """Record a failed attempt; returns the seconds until the next one, or 0 when a refusal has
    been repeated often enough that a person must look at it."""
    attempts = appointment.push_attempts + 1
    if refused and attempts >= settings.CALSYNC_PUSH_MAX_REFUSALS:
        Appointment.objects.filter(pk=appointment.pk).update(
            push_state=Appointment.PushState.FAILED,
            push_error=str(exc)[:2000],
            push_attempts=attempts,
            push_next_at=None,
        )
        return 0.0
    retry_in = push_retry_delay(attempts)
    # Only while still owed: a push that landed meanwhile (a duplicate task) is not undone.
    Appointment.objects.filter(pk=appointment.pk, push_state=Appointment.PushState.QUEUED).update(
        push_error=str(exc)[:2000], push_attempts=attempts, push_next_at=timezone.now() + timedelta(seconds=retry_in)
    )
    return retry_in


# A push owed without a retry time is normally in a task already (queued when the change
# committed); the sweep leaves it that long before deciding its message was lost.
FRESH_SECONDS = 120
# A push the sweep queued is queued again after this long if its task never reported back.
LEASE_SECONDS = 600
# A failed push's own task retries it at ``push_next_at``; the sweep steps in only this much later,
# when that retry evidently did not happen (a lost message, an exhausted retry budget).
SWEEP_GRACE_SECONDS = 60


def appointment_pushes_claim_due(*, now: datetime | None = None, limit: int = 500) -> list[int]:
    """The owed pushes that are due, each claimed with a compare-and-set on ``push_next_at`` so
    that two sweeps never queue one push twice; the caller queues a task for each id."""
    now = now or timezone.now()
    due = (
        Appointment.objects.filter(push_state=Appointment.PushState.QUEUED, calendar__isnull=False)
        .filter(
            Q(push_next_at__lte=now - timedelta(seconds=SWEEP_GRACE_SECONDS))
            | Q(push_next_at=None, updated_at__lte=now - timedelta(seconds=FRESH_SECONDS))
        )
        .order_by("push_next_at", "id")
        .values_list("pk", "push_next_at")[:limit]
    )
    lease = now + timedelta(seconds=LEASE_SECONDS)
    claimed = []
    for pk, next_at in due:
        if Appointment.objects.filter(pk=pk, push_state=Appointment.PushState.QUEUED, push_next_at=next_at).update(
            push_next_at=lease
        ):
            claimed.append(pk)
    return claimed


def _push(dav, appointment: Appointment) -> str:
    collection = calendar_collection(appointment.calendar)
    if appointment.status == Appointment.Status.CANCELLED:
        if not appointment.caldav_href:
            _store(appointment, href="", etag="")  # never written: nothing is owed any more
            return "nothing to delete"
        try:
            dav.delete(appointment.caldav_href, etag=appointment.caldav_etag)
        except PreconditionFailed:
            return _conflict(dav, appointment, "the artist changed the event; it was not deleted")
        _store(appointment, href="", etag="")
        return "deleted"
    data = appointment_event(appointment_facts(appointment), stamp=timezone.now())
    if not appointment.caldav_href:
        try:
            result = dav.put(collection, data, uid=appointment.caldav_uid)
        except PreconditionFailed:
            # An earlier attempt may have written it before its answer was lost: find it by UID
            # in a listing (never by guessing its URL) and update that.
            found = _find_by_uid(dav, collection, appointment.caldav_uid)
            if found is None:
                raise
            appointment.caldav_href, appointment.caldav_etag = found
            return _update(dav, appointment, collection, data)
        _store(appointment, href=result.href, etag=result.etag)
        return "created"
    return _update(dav, appointment, collection, data)


def _update(dav, appointment: Appointment, collection, data: bytes) -> str:
    try:
        result = dav.put(collection, data, href=appointment.caldav_href, etag=appointment.caldav_etag)
    except PreconditionFailed:
        return _conflict(dav, appointment, "the artist changed the event in the calendar; our change was not written")
    except NotFound:
        return _conflict(dav, appointment, "the event was deleted from the calendar")
    _store(appointment, href=result.href, etag=result.etag)
    return "updated"


def _find_by_uid(dav, collection, uid: str) -> tuple[str, str] | None:
    listing = dav.list_items(collection)
    for item in dav.fetch(collection, list(listing.items)):
        facts = event_times(item.data)
        if facts and facts.uid == uid:
            return item.href, item.etag
    return None


def _conflict(dav, appointment: Appointment, reason: str) -> str:
    """Keep the artist's version; describe it so staff can decide."""
    current = ""
    try:
        item = next(iter(dav.fetch(calendar_collection(appointment.calendar), [appointment.caldav_href])), None)
    except ConnectorError:
        item = None
    if item is not None:
        facts = event_times(item.data)
        if facts:
            current = f" (calendar now: {facts.summary!r} {facts.start:%Y-%m-%d %H:%M}-{facts.end:%H:%M} UTC)"
    message = reason + current
    Appointment.objects.filter(pk=appointment.pk).update(
        push_state=Appointment.PushState.CONFLICT, push_error=message[:2000], updated_at=timezone.now()
    )
    _log(appointment, "conflict", CalendarSyncLog.Status.CONFLICT, message, 0.0)
    return "conflict"


def _store(appointment: Appointment, *, href: str, etag: str) -> None:
    appointment.caldav_href, appointment.caldav_etag = href, etag
    now = timezone.now()
    # Synced only if the appointment is as this push read it: a change made meanwhile queued a
    # push of its own, and must stay owed should that task's message be lost.
    written = Appointment.objects.filter(pk=appointment.pk, updated_at=appointment.updated_at).update(
        caldav_href=href,
        caldav_etag=etag,
        push_state=Appointment.PushState.SYNCED,
        push_error="",
        push_attempts=0,
        push_next_at=None,
        updated_at=now,
    )
    if written:
        appointment.updated_at = now
    else:
        Appointment.objects.filter(pk=appointment.pk).update(caldav_href=href, caldav_etag=etag)


def _done(appointment: Appointment, outcome: str, began: float) -> str:
    _log(appointment, outcome.split()[0], CalendarSyncLog.Status.OK, outcome, began)
    return outcome


def _log(appointment: Appointment, action: str, status: str, message: str, began: float) -> None:
    CalendarSyncLog.objects.create(
        calendar=appointment.calendar,
        appointment=appointment,
        direction=CalendarSyncLog.Direction.PUSH,
        action=action,
        status=status,
        message=message[:2000],
        items=1,
        duration_ms=int((time.monotonic() - began) * 1000) if began else 0,
    )
