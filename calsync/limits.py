"""Settings-backed bounds for pure code: apps read them here and pass them in as arguments.

``calsync.lib`` imports no Django, so the recurrence expander takes its :class:`Limits` as an
argument; this is the one place that builds them from settings.
"""

from __future__ import annotations

from django.conf import settings

from calsync.lib.recurrence import Limits


def recurrence_limits() -> Limits:
    return Limits(
        max_instances=settings.CALSYNC_RECURRENCE_MAX_INSTANCES,
        max_steps=settings.CALSYNC_RECURRENCE_MAX_STEPS,
        max_seconds=settings.CALSYNC_RECURRENCE_MAX_SECONDS,
    )
