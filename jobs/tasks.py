"""Celery tasks: thin wrappers that load ids and call a service."""

from __future__ import annotations

import logging

from celery import shared_task

from calsync.ops.heartbeats import heartbeat_record
from jobs.followups import sync_followups_start_due
from jobs.models import SyncJob, SyncRun
from jobs.runner import NoWriteSlot, sync_run_execute
from jobs.runs import RunStateError, sync_job_start, sync_runs_recover

logger = logging.getLogger(__name__)


@shared_task(name="jobs.ping")
def ping(token: str) -> str:
    """Prove that a worker consumes the queue and reaches the database.

    Leaves a ``Heartbeat(kind="ping", name="ping@<token>")`` row, which the caller can look for;
    used by the integration tests and handy when diagnosing a deployment by hand.
    """
    heartbeat_record(name=f"ping@{token}", kind="ping")
    return "pong"


@shared_task(
    bind=True,
    name="jobs.sync_run",
    autoretry_for=(NoWriteSlot,),
    retry_backoff=5,
    retry_backoff_max=60,
    retry_jitter=True,
    max_retries=None,
)
def sync_run_task(self, run_id: int) -> None:
    """Execute a queued run; a redelivered or duplicate message finds it claimed and does nothing.

    While every write slot of the destination server is held by other runs, the run goes back to
    queued and the task retries with backoff. The run remembers its worker, so a worker that is
    told to stop can hand its runs back to the queue.
    """
    try:
        sync_run_execute(run_id, worker=self.request.hostname or "")
    finally:
        # Webhook deliveries that arrived while the run was busy get their own run now.
        from jobs.timesheets.webhook import webhook_followup_after_run

        webhook_followup_after_run(run_id=run_id)


@shared_task(name="jobs.recover_runs")
def sync_runs_recover_task() -> list[int]:
    return sync_runs_recover()


@shared_task(name="jobs.start_due_followups")
def sync_followups_start_due_task() -> list[int]:
    """Beat's sweep: start the follow-up runs of jobs whose retry time has come."""
    return sync_followups_start_due()


@shared_task(name="jobs.sync_job_scheduled")
def sync_job_scheduled_task(job_id: int) -> int | None:
    """A beat tick for one job: start a run unless the job is gone, disabled or still running."""
    job = SyncJob.objects.filter(pk=job_id, enabled=True).first()
    if job is None:
        return None
    try:
        return sync_job_start(job=job, trigger=SyncRun.Trigger.SCHEDULE).pk
    except RunStateError as exc:
        logger.info("scheduled run of job %s skipped: %s", job_id, exc)
        return None
