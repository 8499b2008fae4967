"""A client's appointments for data-protection requests (the endpoints live elsewhere)."""

from __future__ import annotations

from django.db import transaction

from booking.models import Appointment, CalendarSyncLog
from calsync.queue import enqueue

# What an erased client's event is called in the artist's calendar: the time stays booked.
ERASED_CLIENT = "Booked (client details erased)"

EXPORTED_FIELDS = (
    "id",
    "client_name",
    "client_email",
    "client_phone",
    "start",
    "end",
    "description",
    "status",
    "created_at",
    "updated_at",
)


def _of(email: str):
    return Appointment.objects.filter(client_email__iexact=email.strip())


def export(email: str) -> dict:
    """Everything stored about this client's appointments, JSON-ready."""
    rows = []
    for appointment in _of(email).select_related("artist").order_by("start", "id"):
        row = {field: getattr(appointment, field) for field in EXPORTED_FIELDS}
        row["start"], row["end"] = appointment.start.isoformat(), appointment.end.isoformat()
        row["created_at"], row["updated_at"] = appointment.created_at.isoformat(), appointment.updated_at.isoformat()
        row["artist"] = appointment.artist.name
        rows.append(row)
    return {"appointments": rows}


def purge(email: str) -> int:
    """Erase the client from their appointments and the logs; returns how many appointments.

    An appointment calsync wrote (or will write) into an artist's calendar keeps its time, so the
    artist stays booked, but loses the client's name, e-mail, phone and message; the event is
    then pushed again through the usual push task, which rewrites it without them. The others go.
    """
    from booking.tasks import appointment_push_task

    with transaction.atomic():
        appointments = _of(email)
        CalendarSyncLog.objects.filter(appointment__in=appointments).delete()
        in_calendars = list(appointments.filter(calendar__isnull=False).values_list("pk", flat=True))
        # A queryset update: save() would copy the address into a new audit event.
        Appointment.objects.filter(pk__in=in_calendars).update(
            client_name=ERASED_CLIENT, client_email="", client_phone="", description="", push_error="",
            push_state=Appointment.PushState.QUEUED,
        )  # fmt: skip
        deleted, _ = _of(email).delete()
        for pk in in_calendars:
            enqueue(appointment_push_task, pk)
    return deleted + len(in_calendars)
