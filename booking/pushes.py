"""Make the artist's calendar show an appointment as it is now (create, update, delete).

A push is idempotent: it reads the appointment and writes its current state, so a retried or
duplicated task does no harm. Updates and deletes carry ``If-Match`` with the stored etag; a 412
means the artist changed the event: we re-read it, record a conflict and keep their version.
The href is always the one the server gave; it is never rebuilt from the UID.
"""

from __future__ import annotations

import time

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


def appointment_push(*, appointment_id: int) -> str:
    """Push one appointment; returns what happened. ``TransientError`` propagates (the task retries)."""
    appointment = Appointment.objects.select_related("calendar__account").filter(pk=appointment_id).first()
    if appointment is None or appointment.calendar is None:
        return "skipped"
    began = time.monotonic()
    try:
        with calendar_connector(appointment.calendar) as dav:  # type: ignore[attr-defined]
            outcome = _push(dav, appointment)
    except TransientError as exc:
        Appointment.objects.filter(pk=appointment.pk).update(push_error=str(exc)[:2000])
        _log(appointment, "retry", CalendarSyncLog.Status.ERROR, f"will retry: {exc}", began)
        raise
    except ConnectorError as exc:
        Appointment.objects.filter(pk=appointment.pk).update(
            push_state=Appointment.PushState.FAILED, push_error=str(exc)[:2000]
        )
        _log(appointment, "failed", CalendarSyncLog.Status.ERROR, str(exc), began)
        return "failed"
    return outcome if outcome == "conflict" else _done(appointment, outcome, began)


def _push(dav, appointment: Appointment) -> str:
    collection = calendar_collection(appointment.calendar)
    if appointment.status == Appointment.Status.CANCELLED:
        if not appointment.caldav_href:
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
    Appointment.objects.filter(pk=appointment.pk).update(
        caldav_href=href, caldav_etag=etag, push_state=Appointment.PushState.SYNCED, push_error="",
        updated_at=timezone.now(),
    )


def _done(appointment: Appointment, outcome: str, began: float) -> str:
    _log(appointment, outcome.split()[0], CalendarSyncLog.Status.OK, outcome, began)
    return outcome


def _log(appointment: Appointment, action: str, status: str, message: str, began: float) -> None:
    CalendarSyncLog.objects.create(
        calendar=appointment.calendar, appointment=appointment, direction=CalendarSyncLog.Direction.PUSH,
        action=action, status=status, message=message[:2000], items=1,
        duration_ms=int((time.monotonic() - began) * 1000) if began else 0,
    )
