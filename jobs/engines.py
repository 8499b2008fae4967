"""Which engine runs a job, chosen by the kinds of its source and destination accounts.

Like the connector registry: one explicit line per pair, dotted paths so that ``jobs`` does not
import the apps built on top of it. An engine is called as
``engine(job, progress, *, run, dry_run, confirm_empty) -> list[PairReport]``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from jobs.models import SyncJob

DAV = ("caldav", "carddav")

ENGINES: dict[tuple[str, str], str] = {
    **{(source, dest): "jobs.runner.sync_dav_job" for source in DAV for dest in DAV},
    ("zammad", "kimai"): "jobs.timesheets.engine.sync_timesheet_job",
    ("ics", "caldav"): "feeds.imports.sync_ics_job",
}


class UnsupportedJob(Exception):
    """No engine syncs this pair of account kinds."""


def engine_for(job: SyncJob) -> Callable[..., list]:
    key = (job.source.kind, job.destination.kind)
    try:
        return import_string(ENGINES[key])
    except KeyError:
        pairs = ", ".join(f"{a} → {b}" for a, b in ENGINES)
        raise UnsupportedJob(f"calsync cannot sync {key[0]} → {key[1]}; supported: {pairs}") from None


def supported_pairs() -> list[tuple[str, str]]:
    return list(ENGINES)
