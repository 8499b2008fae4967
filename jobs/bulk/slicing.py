"""Fair turns between a migration's users: a run yields after a slice of items and re-queues itself.

With hundreds of users on a few workers, one user's 50,000 items must not hold the workers while
everyone else waits. A bulk migration's run stops at a clean point (the engine's checkpoint
between batches, as a pause does) once it has done ``CALSYNC_BULK_SLICE_ITEMS`` items in this
turn, goes back to ``queued`` and sends its message to the back of the queue; the next turn
re-plans from its links and the owed-items ledger, so nothing is lost or copied twice, and its
counters carry on (``RunProgress`` starts from what the run stored). Write caps still apply: every
turn takes a write slot for the destination server, and gives it back when it yields.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings

if TYPE_CHECKING:
    from celery.result import AsyncResult

from calsync.queue import enqueue
from jobs.bulk.models import MigrationUser
from jobs.models import SyncRun
from jobs.progress import RunProgress
from jobs.runner import NoWriteSlot, sync_run_execute

WORKER_STOPPING = "the worker is stopping"


@dataclass
class SlicedProgress(RunProgress):
    """A run's progress that ends the turn after ``slice_items`` items (checked between batches)."""

    slice_items: int = 0
    yielded: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        self.slice_items = self.slice_items or settings.CALSYNC_BULK_SLICE_ITEMS
        self.turn_start = self.counters.get("done", 0)

    @property
    def batch_size(self) -> int:
        """The engine checkpoints between batches: none may be larger than a turn."""
        return self.slice_items

    def checkpoint(self) -> bool:
        if not super().checkpoint():
            return False
        done = self.counters.get("done", 0)
        in_turn = done - self.turn_start
        if in_turn < self.slice_items or (self.planned_now and done >= self.progress_total):
            return True  # a turn that has just finished everything has no reason to yield
        self.yielded = True
        self.log(
            "info",
            f"{in_turn} items in this turn: the run makes way for the migration's other users "
            "and carries on from the back of the queue",
        )
        self.flush()
        return False

    def log(self, level: str, message: str, item: str = "") -> None:
        # The runner explains a stop that sends the run back to the queue as a worker stopping;
        # a yield has said why already.
        if self.yielded and message.startswith(WORKER_STOPPING):
            return
        super().log(level, message, item)


def sync_slice_enqueue(run: SyncRun, *, countdown: float = 0) -> None:
    """Send the run's next turn to the back of the queue once the transaction commits."""

    def sent(result: AsyncResult) -> None:
        SyncRun.objects.filter(pk=run.pk).update(task_id=result.id or "")

    enqueue("bulk.sync_slice", run.pk, countdown=countdown, on_sent=sent)


def slice_task_for_members(job_id: int) -> str | None:
    """Registered with jobs.runs: every run of a migration's job takes turns, whoever starts it
    (a follow-up, a schedule, a run a stopping or dead worker hands back), not only the migration."""
    return "bulk.sync_slice" if MigrationUser.objects.filter(job_id=job_id).exists() else None


def turn_wait(run: SyncRun) -> float:
    """How long a run waits before its next try: the same for a run that yielded and for one that
    found every write slot taken, so they come back in the order they left (round-robin), short
    with few users waiting and longer, up to 30 s, with thousands (each try costs a message)."""
    waiting = SyncRun.objects.filter(job__bulk_user__migration__users__job=run.job_id, status=SyncRun.Status.QUEUED)
    return min(30.0, 1.0 + waiting.count() / 100)


def sync_slice_execute(run_id: int, *, worker: str = "") -> SyncRun | None:
    """One turn of a bulk migration's run. A run that yielded, or found every write slot of its
    destination taken, is queued again at the back, after the same short wait: Celery's growing
    retry backoff would let a run that just yielded take the freed slot before those waiting."""
    made: list[SlicedProgress] = []

    def progress(run: SyncRun) -> SlicedProgress:
        made.append(SlicedProgress(run))
        return made[-1]

    try:
        run = sync_run_execute(run_id, progress_class=progress, worker=worker)  # type: ignore[arg-type]
    except NoWriteSlot:
        waiting = SyncRun(pk=run_id, job_id=SyncRun.objects.values_list("job_id", flat=True).get(pk=run_id))
        sync_slice_enqueue(waiting, countdown=turn_wait(waiting))
        return None
    if run is not None and made and made[-1].yielded and run.status == SyncRun.Status.QUEUED:
        sync_slice_enqueue(run, countdown=turn_wait(run))
    return run
