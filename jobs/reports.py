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
