"""Model-field validators shared by the apps (the admin and the API show their message)."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from calsync.lib.zones import UnknownZone, zone_named


def validate_time_zone(value: str) -> None:
    try:
        zone_named(value)
    except UnknownZone as exc:
        raise ValidationError(str(exc)) from None
