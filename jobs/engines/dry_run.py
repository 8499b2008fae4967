"""The dry run: what a run of a job would do, planned by its engine, with nothing written.

One service for the API (``POST /api/sync-jobs/<id>/dry-run``) and the CLI
(``manage.py sync_accounts --dry-run``).
"""

from __future__ import annotations

from jobs.engines import engine_for
from jobs.engines.base import PairReport
from jobs.models import SyncJob, SyncRun
from jobs.progress import PlanOnlyProgress


def sync_job_dry_run(
    *, job: SyncJob, confirm_empty: bool = False, progress_class: type[PlanOnlyProgress] = PlanOnlyProgress
) -> list[PairReport]:
    """Plan ``job`` with its engine and write nothing.

    An unsaved job (the CLI's options for a pair it has no job for yet) is saved for the plan,
    which needs a row to read links and cursors from, and deleted again, unless a real run of the
    same pair made it its own meanwhile. A saved job may carry changed options in memory: they
    are planned with, not stored.
    """
    made_up = job.pk is None
    if made_up:
        job.save()
    try:
        return engine_for(job).plan(job, progress_class(SyncRun(job=job)), confirm_empty=confirm_empty)
    finally:
        if made_up:
            SyncJob.objects.filter(pk=job.pk, runs__isnull=True).delete()
