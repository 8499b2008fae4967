"""Poison messages: a task message that kills its worker every time is dropped, not redelivered forever.

Tasks are ``acks_late`` with ``reject_on_worker_lost`` (calsync/settings.py), so that a worker
that dies mid-task loses nothing: the message goes back to the queue. A message that *causes* the
death (a pool process killed for memory, a C extension crashing, a SIGKILL) would then kill the
next worker too, forever. So every delivery is counted, in the worker's main process as the
message arrives (``task_received``, before the pool sees it, which a dying pool process or worker
cannot skip), in the shared cache: Redis in production, the file cache under ``data/`` in the
embedded mode, so deliveries to other workers and after a restart count too. The key is the task
id *and* its retry number, because a retry is a new message with the same id.

The delivery after ``CALSYNC_TASK_MAX_DELIVERIES`` is dropped with an error log line: it is
revoked in this worker, and celery acknowledges a revoked message without running it. A task that
finishes (successfully or not) clears its count.
"""

from __future__ import annotations

import logging
from typing import Any

from celery.signals import task_postrun, task_received

logger = logging.getLogger(__name__)

# Long enough to outlive the broker's redelivery delay (Redis: the visibility timeout) many times.
COUNT_TTL_SECONDS = 7 * 24 * 3600


def delivery_key(task_id: str, retries: int) -> str:
    return f"calsync:deliveries:{task_id}:{retries}"


def delivery_counted(task_id: str, retries: int) -> int:
    """Count one more delivery of this message; returns how many there have been, this one included."""
    from django.core.cache import cache

    key = delivery_key(task_id, retries)
    cache.add(key, 0, COUNT_TTL_SECONDS)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, COUNT_TTL_SECONDS)
        return 1


@task_received.connect
def drop_poison_message(sender: Any = None, request: Any = None, **_kwargs: Any) -> None:
    from celery.worker.state import revoked
    from django.conf import settings

    if request is None:
        return
    retries = int((request.request_dict or {}).get("retries") or 0)
    try:
        deliveries = delivery_counted(request.id, retries)
    except Exception:  # a cache outage must not stop the worker: the message runs uncounted
        logger.warning("could not count the delivery of task %s[%s]", request.name, request.id, exc_info=True)
        return
    limit = settings.CALSYNC_TASK_MAX_DELIVERIES
    if deliveries > limit:
        logger.error(
            "task %s[%s] dropped: delivered %d times and its worker died each time (CALSYNC_TASK_MAX_DELIVERIES=%d)",
            request.name, request.id, deliveries - 1, limit,
        )  # fmt: skip
        revoked.add(request.id)


@task_postrun.connect
def forget_deliveries(sender: Any = None, task_id: str | None = None, task: Any = None, **_kwargs: Any) -> None:
    """The task ran to an end: its message is not poison (runs in the pool process)."""
    from django.core.cache import cache

    if task_id is None or task is None:
        return
    retries = int(getattr(task.request, "retries", 0) or 0)
    try:
        cache.delete(delivery_key(task_id, retries))
    except Exception:  # the count expires on its own
        logger.debug("could not clear the delivery count of %s", task_id, exc_info=True)
