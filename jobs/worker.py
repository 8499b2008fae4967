"""Worker signals of the sync runner: hand runs back on shutdown, freeze start-up objects.

The worker's liveness heartbeat is calsync/ops/heartbeats.py."""

from __future__ import annotations

import gc
import logging
from typing import Any

from celery.signals import worker_process_init, worker_shutdown, worker_shutting_down
from django.db import DatabaseError, connection

logger = logging.getLogger(__name__)


@worker_shutting_down.connect
def release_runs(sender: Any = None, **_kwargs: Any) -> None:
    """A warm shutdown (SIGTERM, Ctrl-C of ``make run``) waits for the task in flight: tell its
    runs to stop after their current batch and go back to the queue, so they resume at once on
    the next worker instead of after the stale-run timeout."""
    from jobs.runs import sync_runs_release

    try:
        released = sync_runs_release(worker=str(sender or ""))
        if released:
            logger.warning("worker %s stopping: %d run(s) go back to the queue after their batch", sender, released)
    except DatabaseError:
        logger.warning("could not hand the runs of %s back to the queue", sender, exc_info=True)
    finally:
        connection.close()


@worker_shutdown.connect
def requeue_released_runs(sender: Any = None, **_kwargs: Any) -> None:
    """The tasks in flight have ended and this worker takes no more messages: queue the runs it
    handed back, for the next worker (Celery sends worker_shutdown after the pool drained)."""
    from jobs.runs import sync_runs_requeue_released

    try:
        sync_runs_requeue_released(worker=str(getattr(sender, "hostname", "") or sender or ""))
    except DatabaseError:
        logger.warning("could not queue the runs %s handed back", sender, exc_info=True)
    finally:
        connection.close()


@worker_process_init.connect
def freeze_startup_objects(**_kwargs: Any) -> None:
    """Move everything imported so far out of the garbage collector's sight.

    Django, Celery and the apps leave ~100,000 long-lived objects; every full collection during
    a sync walks them all (about 6% of a 2,500-object copy's CPU). Frozen, they are never walked
    again; objects created by runs are collected as usual.
    """
    gc.collect()
    gc.freeze()
