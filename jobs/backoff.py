"""When a job that still owes items tries again: the follow-up backoff (``jobs/followups.py``).

Apart from the sweep that starts due follow-ups, so that ending a run (``jobs/runs.py``) can set
the next try without importing what starts runs.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone

from jobs.models import SyncJob


def followup_delay(job: SyncJob, step: int) -> int | None:
    """Seconds until follow-up number ``step`` (0-based); None: leave it to the job's schedule."""
    backoff = list(settings.CALSYNC_FOLLOWUP_BACKOFF)
    if step < len(backoff):
        return backoff[step]
    if job.schedule_id and job.schedule and job.schedule.enabled:
        return None
    return backoff[-1] if backoff else None


def sync_job_schedule_followup(*, job: SyncJob) -> dt.datetime | None:
    """Set when the job tries again; returns that time (None: its schedule will)."""
    step = job.retry_step
    delay = followup_delay(job, step)
    retry_at = timezone.now() + dt.timedelta(seconds=delay) if delay is not None else None
    SyncJob.objects.filter(pk=job.pk).update(retry_at=retry_at, retry_step=step + 1)
    job.retry_at, job.retry_step = retry_at, step + 1
    return retry_at


def sync_job_clear_followup(*, job: SyncJob) -> None:
    """Nothing owed any more: the next failure starts the backoff from its first step."""
    SyncJob.objects.filter(pk=job.pk).update(retry_at=None, retry_step=0)
    job.retry_at, job.retry_step = None, 0
