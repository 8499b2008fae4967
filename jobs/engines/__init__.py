"""The one engine registry: which engine syncs a job, chosen by the kinds of its two accounts.

Like the connector registry: one explicit line per pair of account kinds, with dotted paths so
that a command or task loads only the engine it runs. An engine (``jobs.engines.base.Engine``)
runs a job, plans it for a dry run, resolves its conflicts and owns its typed options. A job
whose pair is not listed here is refused by every interface (``sync_job_validate``).
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.utils.module_loading import import_string

from jobs.engines.base import Engine, EngineOptions, PairReport

if TYPE_CHECKING:
    from jobs.models import SyncJob

__all__ = [
    "ENGINES",
    "Engine",
    "EngineOptions",
    "PairReport",
    "UnsupportedJob",
    "engine_for",
    "engine_for_kinds",
    "supported_pairs",
    "sync_job_validate",
]

ENGINES: dict[tuple[str, str], str] = {
    ("caldav", "caldav"): "jobs.engines.dav.DavEngine",
    ("caldav", "carddav"): "jobs.engines.dav.DavEngine",
    ("carddav", "caldav"): "jobs.engines.dav.DavEngine",
    ("carddav", "carddav"): "jobs.engines.dav.DavEngine",
    ("ics", "caldav"): "jobs.engines.ics_import.IcsImportEngine",
    ("zammad", "kimai"): "jobs.engines.timesheets.TimesheetEngine",
}


class UnsupportedJob(Exception):
    """No engine syncs this pair of account kinds."""


@cache
def _engine(path: str) -> Engine:
    return import_string(path)()


def engine_for_kinds(source_kind: str, destination_kind: str) -> Engine:
    try:
        path = ENGINES[(source_kind, destination_kind)]
    except KeyError:
        pairs = ", ".join(f"{a} → {b}" for a, b in ENGINES)
        raise UnsupportedJob(f"calsync cannot sync {source_kind} → {destination_kind}; supported: {pairs}") from None
    return _engine(path)


def engine_for(job: SyncJob) -> Engine:
    return engine_for_kinds(job.source.kind, job.destination.kind)


def supported_pairs() -> list[tuple[str, str]]:
    return list(ENGINES)


def sync_job_validate(*, job: SyncJob) -> EngineOptions:
    """Refuse a job no engine can sync, or whose options its engine rejects; the admin, the API
    and the CLI all save through this (``jobs.services``)."""
    try:
        engine = engine_for(job)
    except UnsupportedJob as exc:
        raise ValidationError({"destination": str(exc)}) from None
    options = engine.options(job)
    options.validate()
    return options
