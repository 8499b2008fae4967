"""The dashboard page and the small JSON it polls while a run is active. Staff only."""

from __future__ import annotations

from typing import Any

from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.cache import never_cache

from calsync.console.charts import Chart, RunPoint, history_chart, history_svg
from calsync.console.selectors import JobRow, attention_for, history_for, job_rows_for
from calsync.ops.health import health_report
from jobs.models import SyncJob

# Seconds between polls while a run is active: live enough to watch, cheap enough for SQLite.
POLL_SECONDS = 3


HEALTH_TILES = (("Database", "database"), ("Broker", "broker"), ("Workers", "worker"), ("Beat", "beat"))


def _health_detail(part: dict[str, Any]) -> str:
    """One line under a health tile: the error, or who answered and how fast."""
    if not part["ok"]:
        return str(part.get("error") or "not ok")
    if "alive" in part:
        return f"{part['alive']} alive · seen {part['age_seconds']:.0f} s ago"
    where = part.get("vendor") or str(part.get("url", "")).split(":", 1)[0]
    return f"{where} · {part['latency_ms']:g} ms" if where else f"{part['latency_ms']:g} ms"


def _charts(rows: list[JobRow], history: dict[int, list[RunPoint]]) -> list[tuple[SyncJob, Chart, SafeString]]:
    run_url = reverse("admin:jobs_syncrun_change", args=[0]).replace("/0/", "/{id}/")
    charts = []
    for row in rows:
        if history[row.job.pk]:
            chart = history_chart(history[row.job.pk], width=270, height=112)
            # history_svg escapes every text it writes.
            svg = mark_safe(history_svg(chart, label=f"Sync history of {row.job.name}", run_url=run_url))  # noqa: S308
            charts.append((row.job, chart, svg))
    return charts


@never_cache
@staff_member_required
def dashboard(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    rows = job_rows_for(user=request.user, now=now)
    history = history_for(jobs=[row.job for row in rows])
    health = health_report(now=now)
    context = {
        "now": now,
        "rows": rows,
        "active": any(row.active for row in rows),
        "attention": attention_for(user=request.user, rows=rows, now=now),
        "health": health,
        "health_parts": [(name, health[key], _health_detail(health[key])) for name, key in HEALTH_TILES],
        "charts": _charts(rows, history),
        "poll_seconds": POLL_SECONDS,
    }
    return render(request, "console/dashboard.html", context)


@never_cache
def dashboard_live(request: HttpRequest) -> JsonResponse:
    """Each job's latest run: what the dashboard's rows show while something runs."""
    if not (request.user.is_active and request.user.is_staff):
        return JsonResponse({"detail": "Staff only."}, status=403)
    rows = job_rows_for(user=request.user)
    return JsonResponse(
        {
            "active": any(row.active for row in rows),
            "jobs": [
                {
                    "id": row.job.pk,
                    "run": row.run.pk if row.run else None,
                    "status": row.run.status if row.run else "",
                    "status_label": row.run.get_status_display() if row.run else "never run",
                    "active": row.active,
                    "done": row.run.progress_done if row.run else 0,
                    "total": row.run.progress_total if row.run else 0,
                    "percent": row.percent,
                }
                for row in rows
            ],
        }
    )
