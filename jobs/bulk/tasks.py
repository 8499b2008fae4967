"""Celery task of bulk migrations: one turn of one user's run (see jobs.bulk.slicing)."""

from __future__ import annotations

from celery import shared_task

from jobs.bulk.services import migration_user_dry_run_by_id
from jobs.bulk.slicing import sync_slice_execute


@shared_task(bind=True, name="bulk.sync_slice")
def sync_slice_task(self, run_id: int) -> None:
    """Like ``jobs.sync_run``: a claimed run is a no-op; a full destination server sends the run
    to the back of the queue (jobs.bulk.slicing), not into Celery's growing retry backoff."""
    sync_slice_execute(run_id, worker=self.request.hostname or "")


@shared_task(name="bulk.dry_run_user")
def dry_run_user_task(member_id: int) -> None:
    """One user's dry run: its plan totals are stored on the user as it completes."""
    migration_user_dry_run_by_id(member_id)
