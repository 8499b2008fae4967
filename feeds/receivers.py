"""Re-render appointments feeds when an appointment changes.

A signal, not a call from the booking services: every way an appointment changes (the booking
page, the API, the admin's confirm/cancel actions, a staff edit) saves the row, and the feed
must follow all of them. The receiver only queues renders; the bytes are still made by the
render service, never per request. The interval refresh stays as the safety net (a queryset
``update()`` sends no signal).
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.db.models.signals import post_delete, post_save

# Columns that show in an appointment's feed event; a save that touches none of them (a push
# recording its etag, say) changes nothing a subscriber sees.
FEED_FIELDS = frozenset(
    {"artist", "client_name", "client_email", "client_phone", "description", "start", "end", "status", "caldav_uid"}
)


def appointment_saved(sender: type, instance: Any, update_fields: frozenset[str] | None = None, **_: Any) -> None:
    if update_fields is not None and not FEED_FIELDS & set(update_fields):
        return
    _changed(instance)


def appointment_deleted(sender: type, instance: Any, **_: Any) -> None:
    _changed(instance)


def _changed(appointment: Any) -> None:
    from feeds.services import ics_feeds_source_changed

    ics_feeds_source_changed(source_type="appointments", source_ref=str(appointment.artist_id))


def connect_appointment_feeds() -> None:
    if not apps.is_installed("booking"):
        return
    appointment = apps.get_model("booking", "Appointment")
    post_save.connect(appointment_saved, sender=appointment, dispatch_uid="feeds.appointment_saved")
    post_delete.connect(appointment_deleted, sender=appointment, dispatch_uid="feeds.appointment_deleted")
