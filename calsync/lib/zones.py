"""Time-zone names, read one way everywhere (artists' zones, Zammad agents' zones)."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class UnknownZone(ValueError):
    """Not the name of an IANA time zone this system knows."""


def zone_named(name: str) -> ZoneInfo:
    """The zone called ``name`` ("Europe/Berlin"), or ``UnknownZone`` saying what was wrong."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):  # ValueError: an empty name, a path, "../x"
        raise UnknownZone(f"{name!r} is not an IANA time zone such as Europe/Berlin") from None
