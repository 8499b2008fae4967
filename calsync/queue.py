"""The one place services queue Celery tasks, by name.

A task is named, not imported: tasks call services, so a service importing its task would close
an import cycle (import-linter's acyclic contract, pyproject.toml). The task object comes from
the Celery app's registry, so eager mode in tests and the worker's routing apply as to
``task.delay``. ``enqueue`` sends once the surrounding transaction commits (at once outside one),
so a worker never reads a row that is not there yet nor acts on a change that was rolled back;
``enqueue_now`` is for a sweep fanning out what is due, whose claims are already committed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from celery import Task
from celery.result import AsyncResult
from django.db import transaction

from calsync.celery import app


def task_named(name: str) -> Task:
    """The registered task ``name``; the task modules are imported on first use in a web process."""
    if name not in app.tasks:
        app.loader.import_default_modules()
    return app.tasks[name]


def enqueue(
    name: str,
    *args: Any,
    on_sent: Callable[[AsyncResult], None] | None = None,
    countdown: float | None = None,
    **kwargs: Any,
) -> None:
    """Send task ``name`` after the commit; ``on_sent`` gets the result (its task id)."""

    def send() -> None:
        options: dict[str, Any] = {} if countdown is None else {"countdown": countdown}
        result = task_named(name).apply_async(args=args, kwargs=kwargs, **options)
        if on_sent is not None:
            on_sent(result)

    transaction.on_commit(send)


def enqueue_now(name: str, *args: Any, **kwargs: Any) -> None:
    """Send task ``name`` at once."""
    task_named(name).apply_async(args=args, kwargs=kwargs)
