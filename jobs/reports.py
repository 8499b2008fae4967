"""Reads for run reports and the owed-items ledger: one shape for the admin, the API and the CSV.

A run report says what the run did per collection, every item it could not apply (still owed,
needing attention, or failed then and landed since) with href, UID, summary and reason, and the
repairs and skips it made on the way (its per-item notes in the log).
"""

from __future__ import annotations

import csv
import io
from typing import Any

from django.db.models import QuerySet

from jobs.models import OwedItem, SyncJob, SyncLog, SyncRun

REPORT_ITEMS_MAX = 5000
COUNTERS = ("created", "updated", "deleted", "unchanged", "conflicts", "errors")
CSV_COLUMNS = (
    "record", "collection", "href", "dest_href", "uid", "summary", "operation", "state", "reason", "attempts",
    *COUNTERS,
)  # fmt: skip


def owed_items_for(job: SyncJob, *, state: str = "") -> QuerySet[OwedItem]:
    items = job.owed_items.all()
    return items.filter(state=state) if state in OwedItem.State.values else items


def _owed_row(item: OwedItem) -> dict[str, Any]:
    return {
        "collection": item.source_collection,
        "href": item.href,
        "dest_href": item.dest_href,
        "uid": item.uid,
        "summary": item.summary,
        "operation": item.operation,
        "state": item.state,
        "reason": item.reason,
        "status": item.status,
        "attempts": item.attempts,
        "first_failed_at": item.first_failed_at.isoformat(),
        "last_failed_at": item.last_failed_at.isoformat(),
    }


def run_report(run: SyncRun) -> dict[str, Any]:
    collections = [
        {"source": url, "name": tally.get("name", url), "destination": tally.get("destination", "")}
        | {name: tally.get(name, 0) for name in COUNTERS}
        for url, tally in ((run.report or {}).get("collections") or {}).items()
    ]
    owed = list(OwedItem.objects.filter(run=run)[:REPORT_ITEMS_MAX])
    items = [_owed_row(item) for item in owed]
    still_owed = set(OwedItem.objects.filter(job_id=run.job_id).values_list("href", flat=True))
    listed = {item.href for item in owed}
    failures = SyncLog.objects.filter(run=run, level=SyncLog.Level.ERROR).exclude(item="").order_by("id")
    for line in failures[:REPORT_ITEMS_MAX]:
        if line.item in listed:
            continue
        listed.add(line.item)
        items.append(
            {
                "collection": "", "href": line.item, "dest_href": "", "uid": "", "summary": "", "operation": "",
                "state": "owed (tried again by a later run)" if line.item in still_owed else "landed since",
                "reason": line.message, "status": None, "attempts": None,
                "first_failed_at": line.created_at.isoformat(), "last_failed_at": line.created_at.isoformat(),
            }
        )  # fmt: skip
    notes = SyncLog.objects.filter(run=run, level__in=(SyncLog.Level.INFO, SyncLog.Level.WARNING)).exclude(item="")
    return {
        "run": run.pk,
        "job": run.job_id,
        "status": run.status,
        "state": run.state,
        "clean": run.is_clean,
        "trigger": run.trigger,
        "started_at": run.started_at.isoformat() if run.started_at else None,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "error": run.error,
        "counters": {name: getattr(run, name) for name in COUNTERS},
        "owed": run.owed,
        "needs_attention": run.needs_attention,
        "collections": collections,
        "items": items,
        "notes": [
            {"href": line.item, "level": line.level, "message": line.message, "at": line.created_at.isoformat()}
            for line in notes.order_by("id")[:REPORT_ITEMS_MAX]
        ],
    }


def run_report_csv(report: dict[str, Any]) -> str:
    """The report as one CSV table; ``record`` says what a row is (collection, item, note)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for collection in report["collections"]:
        writer.writerow({"record": "collection", "collection": collection["source"], **collection})
    for item in report["items"]:
        writer.writerow({"record": "item", **item})
    for note in report["notes"]:
        writer.writerow({"record": "note", "href": note["href"], "state": note["level"], "reason": note["message"]})
    return _csv_safe(out.getvalue())


def _csv_safe(text: str) -> str:
    # Summaries come from other people's calendars: a cell starting with = + - @ would be run as
    # a formula by a spreadsheet (CSV injection); a leading apostrophe keeps it text.
    rows = list(csv.reader(io.StringIO(text)))
    out = io.StringIO()
    writer = csv.writer(out)
    for row in rows:
        writer.writerow(["'" + cell if cell[:1] in ("=", "+", "-", "@") else cell for cell in row])
    return out.getvalue()


# --- the run page: one snapshot for the first render and every poll ------------------------------

LOG_LINES_SHOWN = 500
STATE_LABELS = {
    "completed-with-owed-items": "Completed, items owed",
    "completed-with-errors": "Completed with errors",
}


def run_actions(run: SyncRun) -> list[str]:
    """What a person may still do to the run: nothing once it has ended."""
    status, states = run.status, SyncRun.Status
    running = status == states.RUNNING
    actions = []
    if status == states.QUEUED or (running and not (run.pause_requested or run.cancel_requested)):
        actions.append("pause")
    if status == states.PAUSED:
        actions.append("resume")
    if status in (states.PENDING, states.QUEUED, states.PAUSED) or (running and not run.cancel_requested):
        actions.append("cancel")
    return actions


def run_log_lines(run: SyncRun, *, after: int | None = None) -> list[dict[str, Any]]:
    """The newest lines of the run, newest first; or, for a poll, up to 200 lines after line
    ``after``, oldest first, so a page that falls behind catches up without a gap."""
    logs = run.logs.all()
    lines = logs.order_by("-id")[:LOG_LINES_SHOWN] if after is None else logs.filter(id__gt=after).order_by("id")[:200]
    return [
        {"id": line.id, "at": line.created_at.isoformat(), "level": line.level, "message": line.message,
         "item": line.item}
        for line in lines
    ]  # fmt: skip


def run_snapshot(run: SyncRun, *, after: int | None = None) -> dict[str, Any]:
    """Everything the run page shows that changes while the run goes on, read once.

    The page renders from it and its script polls it, so the header, the counters, the progress
    and the buttons can never disagree. ``after``: only log lines newer than that id.
    """
    done, total = run.progress_done, run.progress_total
    percent = round(100 * done / total) if total else (100 if run.status == SyncRun.Status.COMPLETED else 0)
    collections = [
        {"name": tally.get("name", url), "destination": tally.get("destination", "")}
        | {name: tally.get(name, 0) for name in COUNTERS}
        for url, tally in ((run.report or {}).get("collections") or {}).items()
    ]
    return {
        "id": run.pk,
        "status": run.status,
        "state": run.state,
        "label": STATE_LABELS.get(run.state, run.state.capitalize()),
        "active": run.is_active,
        "error": run.error,
        "progress_done": done,
        "progress_total": total,
        "percent": min(percent, 100),
        **{name: getattr(run, name) for name in COUNTERS},
        "owed": run.owed,
        "needs_attention": run.needs_attention,
        "started_at": run.started_at.isoformat() if run.started_at else None,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "collections": collections,
        "actions": run_actions(run),
        "logs": run_log_lines(run, after=after),
    }
