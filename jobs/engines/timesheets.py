"""Zammad → Kimai time sheets, plugged into the registry like every engine.

The work lives in the time-sheet app (``jobs/timesheets/``: the plan, the engine, the resolver);
this adapter gives it the ``Engine`` shape. Its settings (policies, rounding, look-back, the
mappings) are the job's ``TimesheetSettings`` and mapping rows, edited in that app's admin and
API, so none of ``SyncJob``'s DAV options apply and the job form shows none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from jobs.engines.base import EngineBase, EngineOptions, PairReport
from jobs.models import Conflict, SyncJob, SyncRun
from jobs.timesheets.engine import sync_timesheet_job
from jobs.timesheets.resolve import timesheet_conflict_settle


@dataclass(frozen=True)
class TimesheetOptions(EngineOptions):
    """No option on the job itself: see ``jobs.timesheets.models.TimesheetSettings``."""


class TimesheetEngine(EngineBase):
    name: ClassVar[str] = "Zammad → Kimai time sheets"
    options_class: ClassVar[type[EngineOptions]] = TimesheetOptions

    def run(self, job: SyncJob, progress: Any, *, run: SyncRun | None, confirm_empty: bool) -> list[PairReport]:
        return sync_timesheet_job(job, progress, run=run, confirm_empty=confirm_empty)

    def plan(self, job: SyncJob, progress: Any, *, confirm_empty: bool) -> list[PairReport]:
        return sync_timesheet_job(job, progress, dry_run=True, confirm_empty=confirm_empty)

    def resolve(self, *, conflict: Conflict, resolution: str) -> tuple[dict | None, dict | None]:
        return timesheet_conflict_settle(conflict=conflict, resolution=resolution)
