"""A client's appointments for data-protection requests (the endpoints live elsewhere)."""

from __future__ import annotations

from django.db import transaction

from booking.models import Appointment, CalendarSyncLog

EXPORTED_FIELDS = (
    "id", "client_name", "client_email", "client_phone", "start", "end", "description", "status", "created_at",
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
    """Erase the client's appointments and their logs; returns how many appointments went.

    The events already in the artist's calendar are the artist's own records and stay there.
    """
    with transaction.atomic():
        appointments = _of(email)
        CalendarSyncLog.objects.filter(appointment__in=appointments).delete()
        count, _ = appointments.delete()
    return count
