"""A run's counters, progress and log lines on the ORM: the engine's ``Progress`` port.

``RunProgress`` buffers and writes at each checkpoint (one UPDATE and one INSERT per batch, not
per item), and reads pause/cancel/requeue requests at the same clean points. It starts from what
the run already stored, so a run resumed after a pause, a worker stop or a crash keeps counting
where it was: 336 objects paused at 200 end as ``created 336``. ``CollectionProgress`` adds the
per-collection counters of the run report.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.utils import timezone

from jobs.models import SyncLog, SyncRun

logger = logging.getLogger(__name__)

COUNTERS = ("created", "updated", "deleted", "unchanged", "conflicts", "errors")


class ClaimLost(Exception):
    """The run is not this attempt's any more: it was taken for dead and claimed again elsewhere.

    A batch can outlast the stale-run time on a slow server; the recovery sweep then queues the
    run and another worker claims it. The old attempt must stop writing (two writers would break
    the server's write cap) and leave the run row to the new one.
    """


@dataclass
class RunProgress:
    """Counters and log lines of a run, written at checkpoints; pause/cancel read there too."""

    run: SyncRun
    counters: dict[str, int] = field(default_factory=dict)
    lines: list[SyncLog] = field(default_factory=list)
    total: int = 0
    collections: dict[str, dict[str, Any]] = field(default_factory=dict)

    COUNTERS = COUNTERS

    def __post_init__(self) -> None:
        run = self.run
        # Steps done by earlier attempts of this run (before a pause, a worker stop, a crash):
        # this attempt's plan covers only what is left, so the total is those plus the plan.
        self.done_before = run.progress_done or 0
        self.total_before = run.progress_total or 0
        self.planned_now = False
        for name in COUNTERS:
            if getattr(run, name, 0):
                self.counters[name] = getattr(run, name)
        if self.done_before:
            self.counters["done"] = self.done_before
        self.collections = {key: dict(value) for key, value in ((run.report or {}).get("collections") or {}).items()}
        self.attempt = run.attempts
        self.beaten_at = time.monotonic()

    def log(self, level: str, message: str, item: str = "") -> None:
        self.lines.append(SyncLog(run=self.run, level=level, message=message[:5000], item=item[:1000]))
        if level == "error":
            logger.warning("run %s: %s %s", self.run.pk, message, item)

    def count(self, **counters: int) -> None:
        for name, value in counters.items():
            self.counters[name] = self.counters.get(name, 0) + value
        if "done" in counters and time.monotonic() - self.beaten_at >= settings.CALSYNC_HEARTBEAT_SECONDS:
            self.beat()

    def beat(self) -> None:
        """Between checkpoints, on a slow server: this attempt is alive (one UPDATE per interval)."""
        self._update(heartbeat_at=timezone.now())

    def _update(self, **values: Any) -> None:
        self.beaten_at = time.monotonic()
        ours = SyncRun.objects.filter(pk=self.run.pk, status=SyncRun.Status.RUNNING, attempts=self.attempt)
        if not ours.update(**values):
            raise ClaimLost(f"run {self.run.pk} was claimed again after attempt {self.attempt}")

    def planned(self, total: int) -> None:
        self.planned_now = True
        self.total += total

    def for_collection(self, key: str, **labels: str) -> CollectionProgress:
        return CollectionProgress(self, key, labels)

    def requests(self) -> dict[str, bool]:
        return (
            SyncRun.objects.filter(pk=self.run.pk)
            .values("pause_requested", "cancel_requested", "requeue_requested")
            .first()
            or {}
        )

    def checkpoint(self) -> bool:
        self.flush()
        return not any(self.requests().values())

    @property
    def progress_total(self) -> int:
        done = self.counters.get("done", 0)
        if not self.planned_now:
            # Until this attempt has planned, the stored total stands: progress never jumps back.
            return max(self.total_before, done)
        return max(self.done_before + self.total, done)

    def flush(self) -> None:
        if self.lines:
            SyncLog.objects.bulk_create(self.lines)
            self.lines = []
        values: dict[str, Any] = {name: self.counters.get(name, 0) for name in COUNTERS}
        values.update(
            progress_done=self.counters.get("done", 0),
            progress_total=self.progress_total,
            heartbeat_at=timezone.now(),
        )
        if self.collections:
            values["report"] = {**(self.run.report or {}), "collections": self.collections}
        self._update(**values)


class CollectionProgress:
    """The run's progress as one collection pair reports to it, tallied per collection as well."""

    def __init__(self, progress: RunProgress, key: str, labels: dict[str, str]) -> None:
        self.progress = progress
        self.tally = progress.collections.setdefault(key, {})
        self.tally.update(labels)

    def count(self, **counters: int) -> None:
        for name, value in counters.items():
            if name in COUNTERS:
                self.tally[name] = self.tally.get(name, 0) + value
        self.progress.count(**counters)

    def __getattr__(self, name: str) -> Any:  # log, planned, checkpoint, flush … are the run's own
        return getattr(self.progress, name)


class PlanOnlyProgress(RunProgress):
    """A dry run writes nothing, not even run rows: counters and log lines stay in memory."""

    def flush(self) -> None:
        self.lines = []
