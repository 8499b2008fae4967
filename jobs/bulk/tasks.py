"""Celery task of bulk migrations: one turn of one user's run (see jobs.bulk.slicing)."""

from __future__ import annotations

from celery import shared_task

from jobs.bulk.slicing import sync_slice_execute
from jobs.runner import NoWriteSlot


@shared_task(
    bind=True,
    name="bulk.sync_slice",
    autoretry_for=(NoWriteSlot,),
    retry_backoff=5,
    retry_backoff_max=60,
    retry_jitter=True,
    max_retries=None,
)
def sync_slice_task(self, run_id: int) -> None:
    """Like ``jobs.sync_run``: a claimed run is a no-op, a full destination server retries later."""
    sync_slice_execute(run_id, worker=self.request.hostname or "")
