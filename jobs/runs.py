"""Run lifecycle: start, pause, resume, cancel, recover. Every transition is a conditional UPDATE.

Two requests racing (an API pause and the runner finishing, two "start" clicks, a worker's
redelivered message) cannot both win: the one whose WHERE clause still matches does.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, models, transaction
from django.utils import timezone

if TYPE_CHECKING:
    from celery.result import AsyncResult

from calsync.lib.errors import StateConflict
from calsync.queue import enqueue
from jobs.backoff import sync_job_clear_followup, sync_job_schedule_followup
from jobs.models import OwedItem, SyncJob, SyncLog, SyncRun

logger = logging.getLogger(__name__)
Status = SyncRun.Status


class RunStateError(StateConflict):
    """The requested transition does not apply to the run's current state."""


# Apps whose jobs run through a task of their own (a bulk migration's runs take turns) register
# a chooser from their AppConfig.ready(): given a run's job id, it names the task or says None.
# Every way a run starts (a click, a follow-up, a schedule, a run handed back) comes through
# ``_enqueue``, so none of them can send such a run through the ordinary task by mistake.
RunTaskChooser = Callable[[int], str | None]
RUN_TASK_CHOOSERS: list[RunTaskChooser] = []


def run_task_chooser_register(chooser: RunTaskChooser) -> None:
    if chooser not in RUN_TASK_CHOOSERS:
        RUN_TASK_CHOOSERS.append(chooser)


def run_task_name(job_id: int) -> str:
    """The task that executes runs of job ``job_id``: ``jobs.sync_run`` unless an app claims it."""
    for chooser in RUN_TASK_CHOOSERS:
        name = chooser(job_id)
        if name:
            return name
    return "jobs.sync_run"


def _enqueue(run: SyncRun) -> None:
    def sent(result: AsyncResult) -> None:
        SyncRun.objects.filter(pk=run.pk).update(task_id=result.id or "")

    job_id = run.job_id or SyncRun.objects.values_list("job_id", flat=True).get(pk=run.pk)
    enqueue(run_task_name(job_id), run.pk, on_sent=sent)


def active_run(job: SyncJob) -> SyncRun | None:
    return job.runs.filter(status__in=SyncRun.ACTIVE).first()


def sync_job_start(
    *,
    job: SyncJob,
    trigger: str = SyncRun.Trigger.MANUAL,
    user: AbstractBaseUser | None = None,
    confirm_empty: bool = False,
    enqueue: bool = True,
) -> SyncRun:
    """Queue a run. A job with an active run refuses a second one (database constraint).

    ``enqueue=False`` leaves the run for the caller to execute in-process (the CLI).
    """
    if not job.enabled and trigger == SyncRun.Trigger.SCHEDULE:
        raise RunStateError(f"job {job.name!r} is disabled")
    try:
        with transaction.atomic():
            run = SyncRun.objects.create(
                job=job,
                status=Status.QUEUED,
                trigger=trigger,
                requested_by=user if user and user.is_authenticated else None,
                confirm_empty=confirm_empty,
            )
            if enqueue:
                _enqueue(run)
    except IntegrityError:
        running = active_run(job)
        raise RunStateError(
            f"job {job.name!r} already has an active run" + (f" (#{running.pk}, {running.status})" if running else "")
        ) from None
    return run


def _transition(run: SyncRun, allowed: tuple[str, ...], **changes) -> bool:
    return SyncRun.objects.filter(pk=run.pk, status__in=allowed).update(**changes) == 1


def sync_run_pause(*, run: SyncRun) -> SyncRun:
    # Queued runs pause at once; running ones at the runner's next checkpoint.
    if not _transition(run, (Status.QUEUED,), status=Status.PAUSED) and not _transition(
        run, (Status.RUNNING,), pause_requested=True
    ):
        raise RunStateError(f"run #{run.pk} is {run.status}; only queued or running runs can be paused")
    run.refresh_from_db()
    return run


def sync_run_resume(*, run: SyncRun) -> SyncRun:
    with transaction.atomic():
        if not _transition(run, (Status.PAUSED,), status=Status.QUEUED, pause_requested=False):
            raise RunStateError(f"run #{run.pk} is {run.status}; only paused runs can be resumed")
        _enqueue(run)
    run.refresh_from_db()
    return run


def sync_run_cancel(*, run: SyncRun) -> SyncRun:
    finished = {"status": Status.CANCELLED, "finished_at": timezone.now()}
    if not _transition(run, (Status.QUEUED, Status.PAUSED, Status.PENDING), **finished) and not _transition(
        run, (Status.RUNNING,), cancel_requested=True
    ):
        raise RunStateError(f"run #{run.pk} is {run.status}; it cannot be cancelled")
    run.refresh_from_db()
    return run


def sync_run_finish(*, run: SyncRun, progress, status: str, error: str = "", transient: bool = False) -> None:
    """Write how a run ended: its counters, what the job still owes, and what happens next.

    A run that ends owing items, or fails because a server was away, schedules its follow-up; a
    clean one clears the backoff. A run whose worker is stopping goes back to the queue at once;
    its message is sent by that worker's shutdown hook (``sync_runs_requeue_released``), once the
    worker no longer takes messages, or the stopping worker would take the run straight back.
    """
    job = SyncJob.objects.select_related("schedule").get(pk=run.job_id)  # its retry step as it is now
    ledger = dict(OwedItem.objects.filter(job=job).values_list("state").annotate(n=models.Count("id")).order_by())
    owed, attention = ledger.get(OwedItem.State.OWED, 0), ledger.get(OwedItem.State.NEEDS_ATTENTION, 0)
    ended = status in (Status.COMPLETED, Status.FAILED)
    if ended and (owed or transient) and job.enabled:
        retry_at = sync_job_schedule_followup(job=job)
        when = f"a follow-up run is due at {retry_at:%Y-%m-%d %H:%M:%S} UTC" if retry_at else "its schedule retries"
        progress.log("warning", f"{owed} item(s) owed, {attention} need attention; {when}")
    elif status == Status.COMPLETED:
        sync_job_clear_followup(job=job)
        if attention:
            progress.log("warning", f"{attention} item(s) need attention: the server refuses them (see the owed items)")
    progress.flush()
    finished = timezone.now() if status in (Status.COMPLETED, Status.FAILED, Status.CANCELLED) else None
    SyncRun.objects.filter(pk=run.pk).update(
        status=status,
        error=error,
        finished_at=finished,
        pause_requested=False,
        cancel_requested=False,
        requeue_requested=False,
        owed=owed,
        needs_attention=attention,
    )


def sync_runs_release(*, worker: str) -> int:
    """The worker ``worker`` is shutting down: its runs stop after the batch in flight and go
    back to the queue, instead of waiting for the stale-run detector."""
    if not worker:
        return 0  # runs executed in-process (the CLI) have no worker to lose
    return SyncRun.objects.filter(status=Status.RUNNING, worker=worker).update(requeue_requested=True)


def sync_runs_requeue_released(*, worker: str) -> list[int]:
    """The worker ``worker`` has stopped taking messages: send the runs it handed back to the queue."""
    if not worker:
        return []
    released = list(SyncRun.objects.filter(status=Status.QUEUED, worker=worker).values_list("pk", flat=True))
    for pk in released:
        _enqueue(SyncRun(pk=pk))  # outside a transaction, on_commit sends at once
    return released


def sync_runs_recover() -> list[int]:
    """Resume runs whose worker died: no heartbeat for CALSYNC_RUN_STALE_SECONDS.

    The links the dead run recorded make the resumed run pick up where it stopped. A run that
    keeps dying is failed after CALSYNC_RUN_MAX_ATTEMPTS, so a poison job cannot loop forever.
    """
    stale = timezone.now() - timezone.timedelta(seconds=settings.CALSYNC_RUN_STALE_SECONDS)
    resumed = []
    for run in SyncRun.objects.filter(status=Status.RUNNING, heartbeat_at__lt=stale):
        still_stale = SyncRun.objects.filter(pk=run.pk, status=Status.RUNNING, heartbeat_at__lt=stale)
        with transaction.atomic():
            if run.attempts >= settings.CALSYNC_RUN_MAX_ATTEMPTS:
                error = f"the worker running it died {run.attempts} times; giving up"
                if still_stale.update(status=Status.FAILED, finished_at=timezone.now(), error=error):
                    SyncLog.objects.create(run=run, level="error", message=error)
                continue
            if still_stale.update(status=Status.QUEUED, heartbeat_at=timezone.now()):
                SyncLog.objects.create(run=run, level="warning", message="the worker running this stopped; resuming")
                _enqueue(run)
                resumed.append(run.pk)
    resumed += _resend_lost_retries(stale)
    if resumed:
        logger.warning("resumed runs with dead workers: %s", resumed)
    return resumed


def _resend_lost_retries(stale) -> list[int]:
    """Send again the runs that bounced off a full server and whose retry never came.

    A bounced run (no write slot) is queued with a countdown message, which a worker holds in
    memory until it is due; a worker killed meanwhile takes it along until the broker's visibility
    timeout (an hour on Redis). A bounced run beats when it bounces, and retries within a minute:
    one queued for longer than the stale time gets a new message (a spare one claims nothing).
    A bulk migration's runs take turns through their own task and wait their turn in its queue
    (``jobs.bulk.slicing``): they are left to it.
    """
    resent = []
    bounced = SyncRun.objects.filter(status=Status.QUEUED, heartbeat_at__lt=stale, job__bulk_user__isnull=True)
    for run in bounced:
        touched = SyncRun.objects.filter(pk=run.pk, status=Status.QUEUED, heartbeat_at=run.heartbeat_at)
        if touched.update(heartbeat_at=timezone.now()):
            _enqueue(run)
            resent.append(run.pk)
    return resent
