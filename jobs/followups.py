"""Follow-up runs: a job that still owes items tries again by itself, with backoff.

A run that ends with owed items (or fails for a transient reason: a server that is away) sets
``SyncJob.retry_at`` from CALSYNC_FOLLOWUP_BACKOFF (60, 300, 900, 3600 s by default); past the
end of that list, a job with a schedule waits for its schedule and one without keeps the last
delay. A beat task sweeps due jobs every CALSYNC_FOLLOWUP_SWEEP_SECONDS and starts their runs
through ``sync_job_start``. The due time is a database row, not a countdown message, so a broker
or worker restart cannot lose it.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db.models import QuerySet
from django.utils import timezone

from jobs.models import OwedItem, SyncJob, SyncRun
from jobs.runs import RunStateError, sync_job_start

logger = logging.getLogger(__name__)


def sync_followups_start_due(*, now: dt.datetime | None = None) -> list[int]:
    """Start the follow-up runs that are due; returns the ids of the runs started."""
    now = now or timezone.now()
    started = []
    for job in SyncJob.objects.filter(retry_at__lte=now, enabled=True).select_related("source", "destination"):
        # Compare-and-set: two sweeps (two beat processes by mistake) cannot both start it.
        if SyncJob.objects.filter(pk=job.pk, retry_at=job.retry_at).update(retry_at=None) != 1:
            continue
        try:
            run = sync_job_start(job=job, trigger=SyncRun.Trigger.FOLLOWUP)
        except RunStateError as exc:
            # A run is active; when it ends it sets the next follow-up itself if still needed.
            logger.info("follow-up of job %s not started: %s", job.pk, exc)
            continue
        started.append(run.pk)
    if started:
        logger.info("started follow-up runs %s", started)
    return started


def owed_items_retry(*, items: QuerySet[OwedItem]) -> int:
    """A person fixed something (the destination's trashbin, a permission): try these items again
    at the next sweep, including the ones that needed attention. Returns how many jobs follow up."""
    job_ids = set(items.values_list("job_id", flat=True))
    items.update(state=OwedItem.State.OWED, attempts=0)
    SyncJob.objects.filter(pk__in=job_ids).update(retry_at=timezone.now())
    return len(job_ids)
