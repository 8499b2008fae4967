"""The Celery beat scheduler calsync runs: django-celery-beat's, plus a liveness heartbeat."""

from __future__ import annotations

import logging
import socket
import time
from typing import Any

from django.conf import settings
from django.db import DatabaseError, close_old_connections
from django_celery_beat.schedulers import DatabaseScheduler

from calsync.ops.heartbeats import heartbeat_record

logger = logging.getLogger(__name__)


class HeartbeatScheduler(DatabaseScheduler):
    """Schedules from the database (edited in the admin) and records that beat is alive.

    /api/health/detailed reports beat as down when its heartbeat is stale: a beat that is not
    ticking means no scheduled sync runs, which nothing else would reveal.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._heartbeat_name = f"beat@{socket.gethostname()}"
        self._heartbeat_due = 0.0
        super().__init__(*args, **kwargs)

    def tick(self, *args: Any, **kwargs: Any) -> float:
        delay = super().tick(*args, **kwargs)
        now = time.monotonic()
        if now >= self._heartbeat_due:
            self._record_heartbeat()
            self._heartbeat_due = now + settings.CALSYNC_HEARTBEAT_SECONDS
        # Beat sleeps for whatever tick returns; cap it so a long gap between scheduled tasks
        # cannot starve the heartbeat.
        return min(delay, max(self._heartbeat_due - now, 0.0))

    def _record_heartbeat(self) -> None:
        try:
            # Beat lives for weeks: drop a connection the server closed or that outlived its age.
            close_old_connections()
            heartbeat_record(name=self._heartbeat_name, kind="beat")
        except DatabaseError:
            # A database outage must not kill beat; the stale heartbeat is the signal.
            logger.warning("beat heartbeat could not be recorded", exc_info=True)
