"""Execute one SyncRun: claim it, hold a write slot, hand the job to its engine, end the run.

The work itself is the engine's (``jobs.engines``, chosen by the pair of account kinds); the
runner owns what every engine shares: the compare-and-set claim, the write slots per server,
turning whatever happened into a run status a human can read, and flagging an account whose
credentials were refused. Counters, heartbeats and pause/cancel/requeue requests are read and
written at the engine's checkpoints by ``jobs/progress.py``; how a run ends (owed counts,
follow-ups, going back to the queue) is ``jobs.runs.sync_run_finish``.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.connectors.base import ConnectorError, TransientError
from accounts.models import Account
from jobs.engines import UnsupportedJob, engine_for
from jobs.models import SyncJob, SyncRun, WriteSlot
from jobs.progress import ClaimLost, RunProgress
from jobs.reconcile.pair import ServerDown, Stopped
from jobs.reconcile.plan import EmptySideGuard
from jobs.runs import sync_run_finish

__all__ = ["NoWriteSlot", "RunProgress", "sync_run_claim", "sync_run_execute"]

logger = logging.getLogger(__name__)


class NoWriteSlot(Exception):
    """Every write slot for the destination server is taken; try again shortly."""


# --- write slots -------------------------------------------------------------------------------


@contextmanager
def write_slot(host: str, run: SyncRun) -> Iterator[None]:
    """Hold one of CALSYNC_WRITES_PER_SERVER slots for ``host`` while the run writes there."""
    stale = timezone.now() - timezone.timedelta(seconds=settings.CALSYNC_RUN_STALE_SECONDS)
    # A run holds one slot at most: one it still owns was left by an attempt whose worker died
    # (recovered runs are claimed again before anything else frees it), and must not count twice.
    WriteSlot.objects.filter(run=run).delete()
    WriteSlot.objects.filter(host=host).exclude(run__status=SyncRun.Status.RUNNING).delete()
    WriteSlot.objects.filter(host=host, run__heartbeat_at__lt=stale).delete()
    taken = None
    for slot in range(settings.CALSYNC_WRITES_PER_SERVER):
        try:
            with transaction.atomic():
                taken = WriteSlot.objects.create(host=host, slot=slot, run=run)
            break
        except IntegrityError:
            continue
    if taken is None:
        raise NoWriteSlot(host)
    try:
        yield
    finally:
        taken.delete()


# --- execution ---------------------------------------------------------------------------------


def sync_run_claim(run_id: int, worker: str = "") -> SyncRun | None:
    """queued → running, as a compare-and-set: a redelivered task message claims nothing."""
    now = timezone.now()
    claimed = SyncRun.objects.filter(
        pk=run_id, status=SyncRun.Status.QUEUED
    ).update(
        status=SyncRun.Status.RUNNING,
        started_at=Coalesce("started_at", Value(now)),  # a resumed run keeps its first start
        heartbeat_at=now,
        attempts=F("attempts") + 1,
        worker=worker[:200],
        requeue_requested=False,
    )
    if claimed != 1:
        return None
    return SyncRun.objects.select_related("job__source", "job__destination").get(pk=run_id)


def _started(run: SyncRun, progress) -> None:
    job = run.job
    if run.attempts > 1 or run.progress_done:
        progress.log(
            "info",
            f"run resumed (attempt {run.attempts}, {run.trigger}): {run.progress_done} of "
            f"{run.progress_total} steps were done before; mode {job.mode}",
        )
    else:
        progress.log("info", f"run started ({run.trigger}), mode {job.mode}")


def sync_run_execute(
    run_id: int, *, progress_class: type[RunProgress] = RunProgress, worker: str = ""
) -> SyncRun | None:
    """Run a queued run to its end (or to a pause/cancel point). Returns the run, or None if it
    was not ours to run."""
    run = sync_run_claim(run_id, worker)
    if run is None:
        return None
    job = run.job
    progress = progress_class(run)
    started = time.monotonic()
    status, error, transient = SyncRun.Status.COMPLETED, "", False
    try:
        host = urlsplit(job.destination.url).netloc.lower()
        with write_slot(host, run):
            _started(run, progress)
            engine_for(job).run(job, progress, run=run, confirm_empty=run.confirm_empty)
    except Stopped:
        status = _stopped_status(run)
        if status == SyncRun.Status.QUEUED:
            progress.log("warning", "the worker is stopping: the run goes back to the queue and resumes from here")
        else:
            progress.log("info", f"run {status} at a clean point")
    except NoWriteSlot:
        progress.flush()
        # The heartbeat says when it bounced: a run queued long after that lost its retry message.
        SyncRun.objects.filter(pk=run.pk).update(status=SyncRun.Status.QUEUED, heartbeat_at=timezone.now())
        raise
    except ClaimLost as exc:
        logger.warning("%s: attempt %s stops and leaves the run to its new worker", exc, run.attempts)
        return None
    except Exception as exc:  # the run must end in a state a human can see, whatever happened
        status = SyncRun.Status.FAILED
        error, transient = _failure(exc, job=job, run=run, progress=progress)
    if error:
        progress.log("error", error)
    progress.log("info", f"run {status} in {time.monotonic() - started:.1f} s")
    try:
        sync_run_finish(run=run, progress=progress, status=status, error=error, transient=transient)
    except ClaimLost as exc:
        logger.warning("%s: attempt %s leaves its ending to the new worker", exc, run.attempts)
        return None
    run.refresh_from_db()
    return run


def _failure(exc: Exception, *, job: SyncJob, run: SyncRun, progress: RunProgress) -> tuple[str, bool]:
    """Why a run failed, in words for its page, and whether a follow-up should try again soon."""
    if isinstance(exc, EmptySideGuard | UnsupportedJob):
        return str(exc), False
    if isinstance(exc, ServerDown):
        return f"stopped early: {exc}", True
    if isinstance(exc, TransientError):
        return f"the server did not answer reliably: {exc}", True
    if isinstance(exc, ConnectorError):
        if exc.permanent:
            _flag_account(job, exc)
        return str(exc), False
    logger.exception("run %s crashed", run.pk)
    progress.log("error", traceback.format_exc(limit=5))
    return f"internal error: {exc.__class__.__name__}: {exc}", False


def _stopped_status(run: SyncRun) -> str:
    flags = SyncRun.objects.filter(pk=run.pk).values("cancel_requested", "pause_requested").get()
    if flags["cancel_requested"]:
        return SyncRun.Status.CANCELLED
    if flags["pause_requested"]:
        return SyncRun.Status.PAUSED
    return SyncRun.Status.QUEUED  # its worker is shutting down


def _flag_account(job: SyncJob, exc: ConnectorError) -> None:
    # Which side failed is in the URL the error names; flag both only when we cannot tell.
    for account in (job.source, job.destination):
        if not exc.url or urlsplit(account.url).netloc == urlsplit(exc.url).netloc:
            Account.objects.filter(pk=account.pk).update(
                last_check_ok=False, last_check_message=str(exc)[:2000], last_checked_at=timezone.now()
            )
