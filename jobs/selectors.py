"""Reads on jobs: what a user may see (``calsync.visibility``) and each job's latest run.

The admin, the API and the dashboard list jobs through ``sync_job_rows_for``: one query annotates
every job with its latest run, its latest finished run and its owed counts, and ``latest_runs``
loads those runs in one more, so a list costs the same for 1 job as for 1,000.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from calsync.visibility import visible_to
from jobs.models import Conflict, OwedItem, SyncJob, SyncLog, SyncRun

User = AbstractBaseUser | AnonymousUser


def sync_job_list_for(*, user: User) -> QuerySet[SyncJob]:
    jobs = SyncJob.objects.select_related("source", "destination", "schedule__interval", "schedule__crontab")
    return visible_to(jobs, user=user)


def _latest(runs: QuerySet[SyncRun]) -> Subquery:
    return Subquery(runs.filter(job=OuterRef("pk")).order_by("-created_at", "-id").values("id")[:1])


def _owed(state: str) -> Coalesce:
    counted = (
        OwedItem.objects.filter(job=OuterRef("pk"), state=state)
        .order_by()
        .values("job")
        .annotate(n=Count("id"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def with_latest_run(jobs: QuerySet[SyncJob]) -> QuerySet[SyncJob]:
    """``jobs`` annotated with ``latest_run_id``, ``finished_run_id`` and the owed counts."""
    return jobs.annotate(
        latest_run_id=_latest(SyncRun.objects.all()),
        finished_run_id=_latest(SyncRun.objects.exclude(status__in=SyncRun.ACTIVE)),
        owed_count=_owed(OwedItem.State.OWED),
        needs_attention_count=_owed(OwedItem.State.NEEDS_ATTENTION),
    )


def sync_job_rows_for(*, user: User) -> QuerySet[SyncJob]:
    """The jobs ``user`` may see, each annotated as ``with_latest_run`` says."""
    return with_latest_run(sync_job_list_for(user=user))


def latest_runs(jobs: Iterable[SyncJob], *, finished: bool = False) -> dict[int, SyncRun]:
    """Job id → its latest run (or latest finished run), in one query for annotated jobs."""
    jobs = list(jobs)
    attribute = "finished_run_id" if finished else "latest_run_id"
    missing = [job.pk for job in jobs if not hasattr(job, attribute)]
    ids = {job.pk: getattr(job, attribute) for job in jobs if hasattr(job, attribute)}
    if missing:  # a job fresh from a create or update: annotate the few, still one query
        annotated = with_latest_run(SyncJob.objects.filter(pk__in=missing))
        ids.update(annotated.values_list("pk", attribute))
    runs = SyncRun.objects.in_bulk({run_id for run_id in ids.values() if run_id})
    return {job_id: runs[run_id] for job_id, run_id in ids.items() if run_id in runs}


def owed_counts(job: SyncJob) -> dict[str, int]:
    """How many items the job owes, and how many need attention (annotated, or one query)."""
    owed, attention = getattr(job, "owed_count", None), getattr(job, "needs_attention_count", None)
    if owed is not None and attention is not None:
        return {OwedItem.State.OWED: owed, OwedItem.State.NEEDS_ATTENTION: attention}
    counts = dict(job.owed_items.values_list("state").annotate(n=Count("id")).order_by())
    return {state: counts.get(state, 0) for state in OwedItem.State.values}


def sync_run_list_for(*, user: User) -> QuerySet[SyncRun]:
    return visible_to(SyncRun.objects.select_related("job"), user=user, owner="job__owner")


def sync_log_list_for(*, user: User) -> QuerySet[SyncLog]:
    return visible_to(SyncLog.objects.all(), user=user, owner="run__job__owner")


def owed_item_list_for(*, user: User) -> QuerySet[OwedItem]:
    return visible_to(OwedItem.objects.select_related("job"), user=user, owner="job__owner")


def conflict_list_for(*, user: User) -> QuerySet[Conflict]:
    return visible_to(Conflict.objects.select_related("job", "resolved_by"), user=user, owner="job__owner")
