"""Reads on bulk migrations: who sees which, and one status for the admin, the API and the CLI."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery, Sum
from django.utils import timezone

from jobs.bulk.models import BulkMigration, MigrationUser
from jobs.models import Conflict, OwedItem, SyncRun

STATES = ("done", "running", "waiting", "attention", "not_started")
LAST_RUN_FIELDS = (
    "status", "created", "updated", "deleted", "unchanged", "conflicts", "errors", "owed", "needs_attention",
    "progress_done", "progress_total", "finished_at", "error",
)  # fmt: skip
REPORT_COLUMNS = (
    "row", "source_user", "destination_user", "state", "created", "updated", "deleted", "unchanged", "conflicts",
    "errors", "owed", "needs_attention", "finished_at", "error",
)  # fmt: skip


def migration_list_for(*, user) -> QuerySet[BulkMigration]:
    migrations = (
        BulkMigration.objects.select_related("owner").annotate(user_count=Count("users")).order_by("name", "id")
    )
    return migrations if user.is_staff else migrations.filter(owner=user)


def migration_users_with_state(migration: BulkMigration) -> list[dict[str, Any]]:
    """Every user with its last run's figures and a state: done, running, waiting, attention, not_started."""
    last = SyncRun.objects.filter(job=OuterRef("job")).order_by("-created_at", "-id")
    users = (
        MigrationUser.objects.filter(migration=migration)
        .annotate(**{f"last_{name}": Subquery(last.values(name)[:1]) for name in LAST_RUN_FIELDS})
        .annotate(
            open_conflicts=Exists(Conflict.objects.filter(job=OuterRef("job"), resolution="")),
            owes=Exists(OwedItem.objects.filter(job=OuterRef("job"))),
        )
        .order_by("id")
    )
    rows = []
    for member in users:
        figures = {name: getattr(member, f"last_{name}") for name in LAST_RUN_FIELDS}
        rows.append(
            {
                "id": member.pk,
                "row": member.row,
                "source_user": member.source_username,
                "destination_user": member.destination_username,
                "job": member.job_id,
                "state": _state(figures, member.open_conflicts, member.owes),
                "plan": member.plan,
                "planned_at": member.planned_at.isoformat() if member.planned_at else None,
                **{
                    name: figures[name] or 0
                    for name in LAST_RUN_FIELDS
                    if name not in ("status", "finished_at", "error")
                },
                "status": figures["status"] or "",
                "finished_at": figures["finished_at"].isoformat() if figures["finished_at"] else None,
                "error": figures["error"] or "",
            }
        )
    return rows


def _state(figures: dict[str, Any], open_conflicts: bool, owes: bool) -> str:
    status = figures["status"]
    if status is None:
        return "not_started"
    if status == SyncRun.Status.RUNNING:
        return "running"
    if status in SyncRun.ACTIVE:
        return "waiting"
    if status == SyncRun.Status.COMPLETED and not (figures["errors"] or owes or open_conflicts):
        return "done"
    return "attention"


def migration_status(migration: BulkMigration, users: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Users per state, items moved, and an estimate of the time left from the pace so far."""
    users = migration_users_with_state(migration) if users is None else users
    counts = {state: 0 for state in STATES}
    for row in users:
        counts[row["state"]] += 1
    runs = SyncRun.objects.filter(job__bulk_user__migration=migration)
    moved = runs.aggregate(n=Sum(F("created") + F("updated") + F("deleted")))["n"] or 0
    left, unknown = 0, 0
    for row in users:
        if row["state"] in ("running", "waiting"):
            left += max(row["progress_total"] - row["progress_done"], 0) if row["progress_total"] else 0
            unknown += not row["progress_total"]
        elif row["state"] == "not_started":
            if "total" in row["plan"]:
                left += row["plan"]["total"]
            else:
                unknown += 1
    return {
        "users": len(users),
        **counts,
        "items_moved": moved,
        "items_left": left,
        "users_without_estimate": unknown,
        "seconds_left": _seconds_left(migration, runs, left),
        "started_at": migration.started_at.isoformat() if migration.started_at else None,
        "dry_run": _dry_run_progress(migration, users),
    }


def _dry_run_progress(migration: BulkMigration, users: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The last dry run: users planned since it was queued (n of m), its actions, users it could not plan."""
    if migration.dry_run_at is None:
        return None
    since = migration.dry_run_at
    planned = [row for row in users if row["planned_at"] and datetime.fromisoformat(row["planned_at"]) >= since]
    return {
        "requested_at": since.isoformat(),
        "planned": len(planned),
        "of": len(users),
        "actions": sum(row["plan"].get("total", 0) for row in planned),
        "failed": sum("error" in row["plan"] for row in planned),
    }


def _seconds_left(migration: BulkMigration, runs: QuerySet[SyncRun], left: int) -> int | None:
    """Items left at the pace of the items done since the migration started; None before any."""
    if not migration.started_at or not left:
        return None if left else 0
    since = runs.filter(Q(created_at__gte=migration.started_at))
    done = since.aggregate(n=Sum("progress_done"))["n"] or 0
    elapsed = (timezone.now() - migration.started_at).total_seconds()
    if not done or elapsed <= 0:
        return None
    return round(left / (done / elapsed))


def _safe(value: Any) -> Any:
    # Cells come from an uploaded file and other servers' messages: one starting with = + - @
    # would be run as a formula by a spreadsheet (CSV injection); a leading apostrophe keeps it text.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def migration_report_csv(migration: BulkMigration) -> str:
    """One line per user: its state and its last run's counters."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(REPORT_COLUMNS)
    for row in migration_users_with_state(migration):
        writer.writerow([_safe(row.get(column, "")) for column in REPORT_COLUMNS])
    return out.getvalue()
