"""What the dashboard shows, read in a handful of queries: jobs with their runs, what needs a
person's attention, and each job's recent history.

Each app's own ``*_list_for(user=...)`` selector decides what a user may see; this module only
gathers and shapes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import F, Window
from django.db.models.functions import RowNumber
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from accounts.selectors import account_list_for
from booking.models import Appointment
from booking.selectors import appointment_list_for, artist_calendar_list_for
from calsync.console.charts import RunPoint, duration_text
from feeds.selectors import ics_feed_list_for
from jobs.models import OwedItem, SyncJob, SyncRun
from jobs.selectors import conflict_list_for, owed_item_list_for, sync_job_rows_for

logger = logging.getLogger(__name__)

HISTORY_RUNS = 24  # runs per job in the history chart
ATTENTION_ROWS = 5  # rows of one kind before "and N more"


@dataclass(frozen=True, slots=True)
class JobRow:
    job: SyncJob
    run: SyncRun | None  # the latest run, whatever its state
    finished: SyncRun | None  # the latest run that ended: the "last result"
    next_run_at: datetime | None

    @property
    def percent(self) -> int:
        if self.run is None or not self.run.progress_total:
            return 0
        return min(100, round(100 * self.run.progress_done / self.run.progress_total))

    @property
    def active(self) -> bool:
        return self.run is not None and self.run.is_active

    @property
    def last_took(self) -> str:
        run = self.finished
        if run is None or run.started_at is None or run.finished_at is None:
            return ""
        return duration_text(max(0.0, (run.finished_at - run.started_at).total_seconds()))

    @property
    def schedule_text(self) -> str:
        task = self.job.schedule
        if task is None:
            return ""
        if task.interval is not None:
            return str(task.interval)  # "every 15 minutes"
        if task.crontab is not None:
            c = task.crontab
            return f"cron {c.minute} {c.hour} {c.day_of_month} {c.month_of_year} {c.day_of_week}"
        return "custom schedule"


def next_run_at(task: PeriodicTask | None, *, now: datetime) -> datetime | None:
    """When beat will next fire ``task``, as beat itself computes it from the last run."""
    if task is None or not task.enabled:
        return None
    try:
        schedule = task.schedule
        remaining = schedule.remaining_estimate(task.last_run_at or task.start_time or now)
    except (AttributeError, ValueError, TypeError) as exc:  # a half-edited schedule row
        logger.warning("periodic task %s: cannot compute the next run: %s", task.pk, exc)
        return None
    return now + max(remaining, timedelta(0))


def job_rows_for(*, user: User | AnonymousUser, now: datetime | None = None) -> list[JobRow]:
    now = now or timezone.now()
    jobs = list(sync_job_rows_for(user=user))
    ids = {i for job in jobs for i in (job.latest_run_id, job.finished_run_id) if i}  # type: ignore[attr-defined]
    runs = SyncRun.objects.in_bulk(ids)
    return [
        JobRow(
            job=job,
            run=runs.get(job.latest_run_id),  # type: ignore[attr-defined]
            finished=runs.get(job.finished_run_id),  # type: ignore[attr-defined]
            next_run_at=next_run_at(job.schedule, now=now) if job.enabled else None,
        )
        for job in jobs
    ]


@dataclass(frozen=True, slots=True)
class Attention:
    """One thing a person should look at, with where to fix it."""

    severity: str  # "error" or "warning"
    title: str
    detail: str
    url: str


@dataclass(slots=True)
class AttentionGroup:
    kind: str
    items: list[Attention] = field(default_factory=list)
    more: int = 0  # how many were left out
    url: str = ""  # the list of all of them


def _group(kind: str, items: list[Attention], total: int, url: str) -> AttentionGroup | None:
    if not total:
        return None
    return AttentionGroup(kind=kind, items=items[:ATTENTION_ROWS], more=max(0, total - ATTENTION_ROWS), url=url)


def _first_line(text: str) -> str:
    return (text or "").strip().splitlines()[0][:160] if (text or "").strip() else ""


def attention_for(
    *, user: User | AnonymousUser, rows: list[JobRow], now: datetime | None = None
) -> list[AttentionGroup]:
    """What needs a person, most urgent first: failed runs, conflicts, broken connections, bookings."""
    if isinstance(user, AnonymousUser) or not user.is_active:
        return []
    now = now or timezone.now()
    groups: list[AttentionGroup | None] = []

    failed = [row for row in rows if row.finished and row.finished.status == SyncRun.Status.FAILED]
    groups.append(
        _group(
            "Failed runs",
            [
                Attention(
                    "error",
                    f"{row.job.name}: run #{row.finished.pk} failed",
                    _first_line(row.finished.error) or "See the run's log.",
                    reverse("admin:jobs_syncrun_change", args=[row.finished.pk]),
                )
                for row in failed
                if row.finished
            ],
            len(failed),
            reverse("admin:jobs_syncrun_changelist") + "?status__exact=failed",
        )
    )

    owed = (
        owed_item_list_for(user=user).order_by("-state", "-last_failed_at")  # needs_attention before owed
    )
    shown_owed = list(owed[: ATTENTION_ROWS + 1])
    groups.append(
        _group(
            "Items not yet synced",
            [
                Attention(
                    "error" if item.state == OwedItem.State.NEEDS_ATTENTION else "warning",
                    f"{item.job.name}: {item.summary or item.uid or item.href}",
                    f"{item.get_state_display()} — {_first_line(item.reason)} (attempts: {item.attempts})",
                    reverse("admin:jobs_oweditem_change", args=[item.pk]),
                )
                for item in shown_owed
            ],
            owed.count() if len(shown_owed) > ATTENTION_ROWS else len(shown_owed),
            reverse("admin:jobs_oweditem_changelist"),
        )
    )

    conflicts = conflict_list_for(user=user).filter(resolution="")
    open_conflicts = list(conflicts.order_by("-created_at")[: ATTENTION_ROWS + 1])
    groups.append(
        _group(
            "Open conflicts",
            [
                Attention(
                    "warning",
                    f"{c.job.name}: {c.uid or c.source_href or c.dest_href}",
                    c.reason,
                    reverse("admin:jobs_conflict_change", args=[c.pk]),
                )
                for c in open_conflicts
            ],
            conflicts.count() if len(open_conflicts) > ATTENTION_ROWS else len(open_conflicts),
            reverse("admin:jobs_conflict_changelist") + "?resolution__exact=",
        )
    )

    accounts = account_list_for(user=user).filter(last_check_ok=False)
    groups.append(
        _group(
            "Connections failing",
            [
                Attention(
                    "error",
                    f"Account {a.name}",
                    _first_line(a.last_check_message) or "The last connection check failed.",
                    reverse("admin:accounts_account_change", args=[a.pk]),
                )
                for a in accounts[: ATTENTION_ROWS + 1]
            ],
            accounts.count(),
            reverse("admin:accounts_account_changelist"),
        )
    )

    calendars = artist_calendar_list_for(user=user).filter(last_pull_ok=False)
    groups.append(
        _group(
            "Booking calendars unreachable",
            [
                Attention(
                    "error",
                    f"{c.artist.name}'s calendar",
                    _first_line(c.last_error) or "The last pull failed.",
                    reverse("admin:booking_artist_change", args=[c.artist_id]),
                )
                for c in calendars[: ATTENTION_ROWS + 1]
            ],
            calendars.count(),
            reverse("admin:booking_artist_changelist"),
        )
    )

    feeds = ics_feed_list_for(user=user).exclude(last_error="")
    groups.append(
        _group(
            "Feeds with errors",
            [
                Attention(
                    "error",
                    f"/ics/{f.path}",
                    _first_line(f.last_error),
                    reverse("admin:feeds_icsfeed_change", args=[f.pk]),
                )
                for f in feeds[: ATTENTION_ROWS + 1]
            ],
            feeds.count(),
            reverse("admin:feeds_icsfeed_changelist"),
        )
    )

    refused = appointment_list_for(user=user).filter(push_state__in=Appointment.NEEDS_ATTENTION).order_by("start", "id")
    groups.append(
        _group(
            "Appointments not in the calendar",
            [
                Attention(
                    "error",
                    f"{a.client_name} with {a.artist.name}",
                    _first_line(a.push_error) or a.get_push_state_display(),
                    reverse("admin:booking_appointment_change", args=[a.pk]),
                )
                for a in refused[: ATTENTION_ROWS + 1]
            ],
            refused.count(),
            reverse("admin:booking_appointment_changelist"),
        )
    )

    pending = appointment_list_for(user=user).filter(status=Appointment.Status.PENDING, end__gte=now)
    pending = pending.order_by("start", "id")
    groups.append(
        _group(
            "Appointments to confirm",
            [
                Attention(
                    "warning",
                    f"{a.client_name} with {a.artist.name}",
                    f"{timezone.localtime(a.start):%a %d %b, %H:%M}"
                    + (" — calendar was unreachable, check it" if a.needs_review else ""),
                    reverse("admin:booking_appointment_change", args=[a.pk]),
                )
                for a in pending[: ATTENTION_ROWS + 1]
            ],
            pending.count(),
            reverse("admin:booking_appointment_changelist") + "?status__exact=pending",
        )
    )
    return [group for group in groups if group is not None]


def history_for(*, jobs: list[SyncJob], limit: int = HISTORY_RUNS) -> dict[int, list[RunPoint]]:
    """The last ``limit`` ended runs of each job, oldest first: one query, whatever the number of jobs."""
    history: dict[int, list[RunPoint]] = {job.pk: [] for job in jobs}
    latest_first = [F("finished_at").desc(), F("id").desc()]
    runs = (
        SyncRun.objects.filter(job__in=jobs, started_at__isnull=False, finished_at__isnull=False)
        .exclude(status__in=SyncRun.ACTIVE)
        .only(
            "id", "job_id", "status", "started_at", "finished_at", "created", "updated", "deleted", "unchanged",
            "errors",
        )
        .annotate(recency=Window(RowNumber(), partition_by=[F("job_id")], order_by=latest_first))
        .filter(recency__lte=limit)
        .order_by("job_id", "finished_at", "id")
    )  # fmt: skip
    for run in runs:
        if run.started_at is None or run.finished_at is None:  # excluded by the query; for the type checker
            continue
        history[run.job_id].append(
            RunPoint(
                at=run.finished_at,
                items=run.created + run.updated + run.deleted,
                unchanged=run.unchanged,
                errors=run.errors,
                seconds=max(0.0, (run.finished_at - run.started_at).total_seconds()),
                failed=run.status == SyncRun.Status.FAILED,
                run_id=run.pk,
            )
        )
    return history
