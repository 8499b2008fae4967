"""Resolving a Zammad → Kimai conflict: make Kimai match Zammad, or keep Kimai as it is.

Both sides are read again first (one ticket's accountings, the Kimai entries carrying the
marker), since the conflict's copy may be stale. "Use source" updates the linked (or first)
Kimai entry, deletes the other entries carrying the same marker and creates the entry when
none is left; an orphan's source is gone, so its entries are deleted. Exported entries are
refused here (billed time is never rewritten, whatever the token may do) and locked ones by
Kimai (403). "Keep Kimai" stores the ``state_key`` of both sides in the link, so the next run
does not raise the same conflict while neither side changes.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

from django.utils import timezone

from accounts.connectors import connector_for
from accounts.connectors.base import ConnectorError, ItemRejected
from accounts.connectors.kimai import KimaiConnector
from jobs.models import Conflict, ItemLink, SyncJob
from jobs.reconcile.outcome import ConflictError
from jobs.reconcile.plan import Op
from jobs.timesheets.engine import DEST, SOURCE, timesheet_link, timesheet_links_save
from jobs.timesheets.entries import Desired, KimaiEntry, Unresolved, dest_href, marker_for, marker_in
from jobs.timesheets.models import TimesheetSettings
from jobs.timesheets.plan import TimesheetAction, state_key
from jobs.timesheets.sources import kimai_entry, read_sides

logger = logging.getLogger(__name__)


def _log(level: str, message: str, item: str = "") -> None:
    logger.log(logging.getLevelName(level.upper()), "resolving: %s %s", message, item)


def _ticket_of(conflict: Conflict) -> int | None:
    if conflict.uid.isdigit():
        return int(conflict.uid)
    try:
        return int(json.loads(conflict.source_data)["ticket_id"])
    except (ValueError, KeyError, TypeError):
        return None


def _read(job: SyncJob, conflict: Conflict, source_id: str, zammad, kimai: KimaiConnector):
    """The source entry as the mappings place it now (None: gone), and the Kimai records with its marker."""
    want: Desired | Unresolved | None = None
    ticket = _ticket_of(conflict)
    if ticket is not None:
        settings, _ = TimesheetSettings.objects.get_or_create(job=job)
        sides = read_sides(job, zammad, kimai, settings, scope=[ticket], now=timezone.now(), dry_run=False, log=_log)
        want = next((w for w in sides.wanted if w.source_id == source_id), None)
    found = kimai.list_timesheets(term=marker_for(source_id))
    records = [r for r in found if marker_in(r.get("description")) == source_id]  # term is LIKE %…%
    return want, sorted(records, key=lambda r: int(r["id"]))


def _refuse_exported(entries: list[KimaiEntry]) -> None:
    exported = [f"#{e.id}" for e in entries if e.exported]
    if exported:
        raise ConflictError(
            f"Kimai entry {', '.join(exported)} is exported (billed) and cannot be changed; keep Kimai or ignore"
        )


def _use_source(job: SyncJob, source_href: str, want, entries: list[KimaiEntry], kimai: KimaiConnector) -> dict:
    if isinstance(want, Unresolved):
        raise ConflictError(
            f"the Zammad entry still cannot be placed in Kimai ({want.reason}); fix the mapping, then run the job"
        )
    if want is None:  # the source is gone: Kimai matches it without the entries
        _refuse_exported(entries)
        for entry in entries:
            kimai.delete_timesheet(entry.id)
        ItemLink.objects.filter(job=job, source_href=source_href).delete()
        return {"deleted": [e.id for e in entries]}
    linked = ItemLink.objects.filter(job=job, source_href=source_href).values_list("dest_href", flat=True).first()
    keeper = next((e for e in entries if dest_href(e.id) == linked), None) or next(
        (e for e in entries if not e.exported), entries[0] if entries else None
    )
    extras = [e for e in entries if e is not keeper]
    _refuse_exported(extras + ([keeper] if keeper else []))
    fields = {
        "begin": want.begin,
        "end": want.begin + timedelta(seconds=want.duration_seconds),
        "project": want.project,
        "activity": want.activity,
        "user": want.user,
        "description": want.description,
    }
    written = kimai.create_timesheet(**fields) if keeper is None else kimai.update_timesheet(keeper.id, **fields)
    for extra in extras:
        kimai.delete_timesheet(extra.id)
    action = TimesheetAction(Op.UPDATE_DEST, want.source_id, (int(written["id"]),), "resolved", want)
    timesheet_links_save(job, [timesheet_link(job, action, int(written["id"]))])
    return {"kimai": written, "deleted": [e.id for e in extras]}


def _keep_kimai(job: SyncJob, source_href: str, want, entries: list[KimaiEntry]) -> dict:
    kept = state_key(want, entries)
    values: dict[str, Any] = {"dest_hash": kept, "synced_at": timezone.now()}
    if isinstance(want, Desired):
        values["source_hash"] = want.fingerprint()  # the current source counts as synced
    if ItemLink.objects.filter(job=job, source_href=source_href).update(**values):
        return {"kept": [e.id for e in entries]}
    href = dest_href(entries[0].id) if entries else ""
    if not href or ItemLink.objects.filter(job=job, dest_href=href).exists():
        href = f"kept-{source_href}"  # a placeholder: the unique destination href stays free
    ItemLink.objects.create(
        job=job,
        source_collection=SOURCE,
        dest_collection=DEST,
        source_href=source_href,
        dest_href=href,
        uid=str(getattr(want, "ticket_id", "") or ""),
        **{"source_hash": "", **values},
    )
    return {"kept": [e.id for e in entries]}


def timesheet_conflict_settle(*, conflict: Conflict, resolution: str) -> tuple[dict, dict]:
    """Carry out "source" or "destination" against both servers; returns (before, after) for the audit."""
    job = conflict.job
    source_id = conflict.source_href.removeprefix("zammad-ta-")
    zammad = connector_for(job.source.connector_config())
    kimai = connector_for(job.destination.connector_config())
    try:
        want, records = _read(job, conflict, source_id, zammad, kimai)
        entries = [kimai_entry(r) for r in records]
        before = {"zammad": _describe(want), "kimai": records}
        if resolution == Conflict.Resolution.SOURCE:
            after = _use_source(job, conflict.source_href, want, entries, kimai)
        else:
            after = _keep_kimai(job, conflict.source_href, want, entries)
    except ItemRejected as exc:
        if exc.status == 403:
            raise ConflictError(f"Kimai refused the change: the entry is exported or locked ({exc})") from None
        raise ConflictError(f"Kimai refused the change: {exc}") from None
    except ConnectorError as exc:
        raise ConflictError(f"could not reach both servers: {exc}") from None
    finally:
        zammad.close()
        kimai.close()
    return before, after


def _describe(want: Desired | Unresolved | None) -> dict | None:
    if want is None:
        return None
    if isinstance(want, Unresolved):
        return {"source_id": want.source_id, "ticket_id": want.ticket_id, "unresolved": want.reason}
    return {
        "source_id": want.source_id,
        "ticket_id": want.ticket_id,
        "begin": want.begin.isoformat(),
        "duration_seconds": want.duration_seconds,
        "project": want.project,
        "activity": want.activity,
        "user": want.user,
        "description": want.description,
    }
