"""The one place services queue Celery tasks.

A task is sent once the surrounding transaction commits (at once outside one), so a worker never
reads a row that is not there yet nor acts on a change that was rolled back. Services import their
tasks inside the function that queues them (tasks import services, not the other way round at
module level), and hand the task here; views, admin actions and commands call the service.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from celery.result import AsyncResult
from django.db import transaction


def enqueue(task: Any, *args: Any, on_sent: Callable[[AsyncResult], None] | None = None, **kwargs: Any) -> None:
    """Send ``task(*args, **kwargs)`` after the commit; ``on_sent`` gets the result (its task id)."""

    def send() -> None:
        result = task.apply_async(args=args, kwargs=kwargs)
        if on_sent is not None:
            on_sent(result)

    transaction.on_commit(send)


def enqueue_now(task: Any, *args: Any, **kwargs: Any) -> None:
    """Send ``task`` at once: for a sweep fanning out what is due, which has no transaction of its
    own to wait for (and whose claim is already committed)."""
    task.apply_async(args=args, kwargs=kwargs)
