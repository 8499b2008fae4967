"""The Zammad → Kimai engine: read both sides by pages, plan, apply in batches, record everything.

Called through its adapter in the engine registry (``jobs.engines.timesheets``). A run triggered by a webhook syncs
only the tickets waiting in ``PendingTicket``; any other run reconciles the job's date window.
Each write lands with its ``ItemLink`` (source href ``zammad-ta-<id>``, destination href
``kimai-ts-<id>``, source hash = the fingerprint of what was written), so a re-run writes
nothing and a crash loses at most the batch in flight.
"""

from __future__ import annotations

import json
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from accounts.connectors import connector_for
from accounts.connectors.base import ConnectorError, ItemRejected
from calsync.ops.models import AuditEvent
from jobs.engines.base import PairReport
from jobs.models import Conflict, ItemLink, SyncJob, SyncRun
from jobs.reconcile.pair import Stopped
from jobs.reconcile.plan import EmptySideGuard, Op
from jobs.timesheets.entries import dest_href, source_href
from jobs.timesheets.models import PendingTicket, TimesheetSettings
from jobs.timesheets.plan import Options, Reason, TimesheetAction, plan_timesheets
from jobs.timesheets.sources import Sides, read_sides

BATCH = 100
SOURCE, DEST = "zammad", "kimai"


def sync_timesheet_job(
    job: SyncJob, progress, *, run: SyncRun | None = None, dry_run: bool = False, confirm_empty: bool = False
) -> list[PairReport]:
    settings, _ = TimesheetSettings.objects.get_or_create(job=job)
    now = timezone.now()
    scope = None
    if run is not None and run.trigger == SyncRun.Trigger.WEBHOOK:
        scope = sorted(PendingTicket.objects.filter(job=job, received_at__lte=now).values_list("ticket_id", flat=True))
        progress.log("info", f"webhook run: tickets {', '.join(map(str, scope)) or '(none)'}")
    zammad = connector_for(job.source.connector_config())
    kimai = connector_for(job.destination.connector_config())
    try:
        sides = read_sides(job, zammad, kimai, settings, scope=scope, now=now, dry_run=dry_run, log=progress.log)
        links, accepted = _links(job)
        if scope is None and not sides.known_source_ids and links and not confirm_empty:
            raise EmptySideGuard(
                f"Zammad lists no time accountings, but {len(links)} were synced before; refusing to treat "
                "every Kimai entry as an orphan. Start the run with confirm_empty to proceed."
            )
        options = Options(
            update=settings.update_policy, orphans=settings.orphan_policy, rounding_seconds=settings.rounding_seconds
        )
        plan = plan_timesheets(
            sides.wanted,
            sides.kimai,
            known_source_ids=sides.known_source_ids,
            links=links,
            options=options,
            accepted=accepted,
        )
        progress.planned(len(plan.actions) + plan.unchanged)
        progress.count(unchanged=plan.unchanged, done=plan.unchanged)
        if not dry_run:
            _apply(job, run, kimai, sides, plan.actions, progress)
            _clear_pending(job, scope, now)
            progress.log("info", f"time sheets: {plan.unchanged} unchanged, {plan.untouched_by_hand} made by hand")
    finally:
        zammad.close()
        kimai.close()
    return [PairReport(job.source.url, job.destination.url, "timesheet", plan.actions, [])]


def _links(job: SyncJob) -> tuple[dict[str, str], dict[str, str]]:
    """Source id → fingerprint last written, and source id → the state a human kept ("keep Kimai")."""
    rows = ItemLink.objects.filter(job=job, source_collection=SOURCE).values_list(
        "source_href", "source_hash", "dest_hash"
    )
    links, accepted = {}, {}
    for href, digest, kept in rows:
        links[href.removeprefix("zammad-ta-")] = digest
        if kept:
            accepted[href.removeprefix("zammad-ta-")] = kept
    return links, accepted


def _clear_pending(job: SyncJob, scope: list[int] | None, now) -> None:
    pending = PendingTicket.objects.filter(job=job, received_at__lte=now)
    (pending if scope is None else pending.filter(ticket_id__in=scope)).delete()


def _apply(job, run, kimai, sides: Sides, actions: list[TimesheetAction], progress) -> None:
    for start in range(0, len(actions), BATCH):
        if not progress.checkpoint():
            raise Stopped()
        links: list[ItemLink] = []
        events: list[AuditEvent] = []
        failures: dict[str, str] = {}
        for action in actions[start : start + BATCH]:
            outcome = _apply_one(job, run, kimai, sides, action, links, failures)
            progress.count(done=1, **{outcome: 1})
            if outcome != "unchanged":
                events.append(_decision(job, run, action, outcome))
        _record_failures(job, events, failures)
        timesheet_links_save(job, links)
        AuditEvent.objects.bulk_create(events)
    progress.flush()


def _apply_one(
    job, run, kimai, sides: Sides, action: TimesheetAction, links: list[ItemLink], failures: dict[str, str]
) -> str:
    want = action.desired
    fields = {}
    if want is not None:
        fields = {
            "begin": want.begin,
            "end": want.begin + timedelta(seconds=want.duration_seconds),
            "project": want.project,
            "activity": want.activity,
            "user": want.user,
            "description": want.description,
        }
    try:
        if action.op == Op.CREATE_DEST:
            created = kimai.create_timesheet(**fields)
            links.append(timesheet_link(job, action, int(created["id"])))
            return "created"
        if action.op == Op.UPDATE_DEST:
            kimai.update_timesheet(action.kimai_ids[0], **fields)
            links.append(timesheet_link(job, action, action.kimai_ids[0]))
            return "updated"
        if action.op == Op.DELETE_DEST:
            kimai.delete_timesheet(action.kimai_ids[0])
            ItemLink.objects.filter(job=job, source_href=action.source_href).delete()
            return "deleted"
        if action.op == Op.LINK:
            links.append(timesheet_link(job, action, action.kimai_ids[0]))
            return "unchanged"
    except ItemRejected as exc:
        if exc.status == 403:  # the voter: locked by a lockdown period (exported ones never get here)
            _conflict(job, run, sides, action, Reason.LOCKED)
            return "conflicts"
        return _error(action, exc, run, failures)
    except ConnectorError as exc:
        if exc.permanent:
            raise
        return _error(action, exc, run, failures)
    _conflict(job, run, sides, action, action.reason)
    return "conflicts"


def _error(action: TimesheetAction, exc: ConnectorError, run, failures: dict[str, str]) -> str:
    failures[action.source_href] = str(exc)[:2000]
    if run is not None:
        from jobs.models import SyncLog

        SyncLog.objects.create(run=run, level="error", message=f"{action.op.value}: {exc}", item=action.source_href)
    return "errors"


def _record_failures(job, events: list[AuditEvent], failures: dict[str, str]) -> None:
    """Each failed entry's decision carries the reason and how many runs in a row it failed.

    Nothing is lost by a failure (every run plans from both sides, and the marker in Kimai finds
    a write whose answer was lost), but an entry that keeps failing must be visible as such.
    """
    if not failures:
        return
    # One Zammad entry may feed two jobs (two Kimais): each job counts its own attempts.
    history = AuditEvent.objects.filter(
        object_type="timesheet", object_id__in=list(failures), after__job=job.pk
    ).order_by("-id")
    earlier: dict[str, int] = {}
    settled: set[str] = set()
    for href, after in history.values_list("object_id", "after").iterator():
        if href in settled:
            continue
        if (after or {}).get("outcome") == "errors":
            earlier[href] = earlier.get(href, 0) + 1
        else:
            settled.add(href)  # the streak of failures ends at the last success
    for event in events:
        href = event.object_id
        if href in failures:
            event.after = {**event.after, "error": failures[href], "attempts": earlier.get(href, 0) + 1}


def timesheet_link(job, action: TimesheetAction, kimai_id: int) -> ItemLink:
    return ItemLink(
        job=job,
        source_collection=SOURCE,
        dest_collection=DEST,
        uid=str(action.desired.ticket_id),
        source_href=source_href(action.source_id),
        source_hash=action.desired.fingerprint(),
        dest_href=dest_href(kimai_id),
        dest_hash="",
        synced_at=timezone.now(),
    )


def timesheet_links_save(job, links: list[ItemLink]) -> None:
    if not links:
        return
    with transaction.atomic():
        # A Kimai entry re-created by hand under another id: drop the stale pairing first.
        ItemLink.objects.filter(job=job, dest_href__in=[k.dest_href for k in links]).exclude(
            source_href__in=[k.source_href for k in links]
        ).delete()
        ItemLink.objects.bulk_create(
            links,
            update_conflicts=True,
            unique_fields=["job", "source_href"],
            update_fields=["dest_collection", "uid", "source_hash", "dest_href", "dest_hash", "synced_at"],
        )


def _conflict(job, run, sides: Sides, action: TimesheetAction, reason: str) -> None:
    source = sides.raw_source.get(action.source_id)
    dest = [sides.raw_kimai[k] for k in action.kimai_ids if k in sides.raw_kimai]
    values = {
        "run": run,
        "source_collection": SOURCE,
        "dest_collection": DEST,
        "uid": str(source["ticket_id"]) if source else "",
        "source_data": json.dumps(source, indent=1, sort_keys=True, default=str) if source else "",
        "dest_data": json.dumps(dest, indent=1, sort_keys=True, default=str) if dest else "",
        "reason": str(reason),
    }
    # One open conflict per entry pair, refreshed by later runs rather than repeated.
    Conflict.objects.update_or_create(
        job=job,
        source_href=action.source_href,
        dest_href=action.dest_href,
        resolution="",
        defaults=values,
        create_defaults=values,
    )


def _decision(job, run, action: TimesheetAction, outcome: str) -> AuditEvent:
    return AuditEvent(
        actor_label="sync",
        action=f"sync.{action.op.value}",
        object_type="timesheet",
        object_id=action.source_href,
        summary=f"job {job.pk} run {getattr(run, 'pk', '-')}: {outcome} ({action.reason}) {action.dest_href}".strip(),
        after={"kimai": list(action.kimai_ids), "reason": str(action.reason), "outcome": outcome, "job": job.pk},
    )
