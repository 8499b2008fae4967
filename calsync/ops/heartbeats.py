"""Process heartbeats: the last sign of life of every worker and of beat, for the health probe.

Workers record theirs from a Celery bootstep (below, added in calsync/celery.py), beat from its
scheduler (calsync/ops/beat.py).
"""

from __future__ import annotations

import logging
from typing import Any

from celery import bootsteps
from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection
from django.utils import timezone

from calsync.ops.models import Heartbeat

logger = logging.getLogger(__name__)


def heartbeat_record(*, name: str, kind: str) -> Heartbeat:
    """Mark process ``name`` as alive now; one row per name, so the table never grows."""
    heartbeat, _ = Heartbeat.objects.update_or_create(name=name, defaults={"kind": kind, "seen_at": timezone.now()})
    return heartbeat


class HeartbeatStep(bootsteps.StartStopStep):
    """Upserts ``Heartbeat(name="worker@<nodename>", kind="worker")`` on start and periodically.

    The health endpoint reports a queue nobody consumes when no worker row is fresh. (A run whose
    worker died is recovered through the run's own ``SyncRun.heartbeat_at``, not through this row.)
    """

    requires = ("celery.worker.components:Timer",)

    def __init__(self, worker: Any, **kwargs: Any) -> None:
        super().__init__(worker, **kwargs)
        self._timer_entry: Any = None

    def start(self, worker: Any) -> None:
        name = f"worker@{worker.hostname}"
        self._beat(name)
        self._timer_entry = worker.timer.call_repeatedly(settings.CALSYNC_HEARTBEAT_SECONDS, self._beat, (name,))

    def stop(self, worker: Any) -> None:
        if self._timer_entry is not None:
            self._timer_entry.cancel()
            self._timer_entry = None

    @staticmethod
    def _beat(name: str) -> None:
        try:
            close_old_connections()
            heartbeat_record(name=name, kind="worker")
        except DatabaseError:
            # An outage must not kill the worker; the stale heartbeat is the signal.
            logger.warning("worker heartbeat could not be recorded", exc_info=True)
        finally:
            # This runs on the timer thread or the consumer's event loop, outside any task; a
            # connection left open there would be inherited by forked pool children or linger
            # idle on PostgreSQL until the worker exits.
            connection.close()
