"""Erased appointments leave a tombstone so clients' sync-collection learns they are gone."""

from __future__ import annotations

from django.db.models.signals import post_delete
from django.dispatch import receiver
from django.utils import timezone

from booking.models import Appointment
from feeds.dav.models import AppointmentTombstone


@receiver(post_delete, sender=Appointment, dispatch_uid="dav-appointment-tombstone")
def appointment_erased(sender, instance: Appointment, **kwargs) -> None:
    AppointmentTombstone.objects.update_or_create(
        artist_id=instance.artist_id, uid=instance.caldav_uid, defaults={"deleted_at": timezone.now()}
    )
