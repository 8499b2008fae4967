"""Run pages and the job page's run controls.

A run page is read-only (a run is a record, not a form): its header, counters, progress,
per-collection counts, buttons and log all come from one snapshot (``jobs.reports.run_snapshot``),
rendered once and then polled by ``jobs/static/jobs/run_live.js`` while the run is active. The
buttons are the ones that apply to the run's state, and they change the run through the same
services as the API (``jobs.runs``), by a CSRF-protected POST, for whoever may change the job.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.options import InlineModelAdmin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.views.decorators.http import require_POST

from jobs.models import SyncJob, SyncRun
from jobs.reports import run_actions, run_report, run_report_csv, run_snapshot
from jobs.runs import RunStateError, active_run, sync_job_start, sync_run_cancel, sync_run_pause, sync_run_resume
from jobs.selectors import sync_run_list_for

POLL_SECONDS = 2
RUN_CONTROLS = {"pause": sync_run_pause, "resume": sync_run_resume, "cancel": sync_run_cancel}
STATUS_COLOURS = {
    "pending": "#777",
    "queued": "#2c7be5",
    "running": "#2c7be5",
    "pausing": "#e5a82c",
    "cancelling": "#777",
    "paused": "#e5a82c",
    "completed": "#2e8540",
    "completed-with-owed-items": "#d35400",
    "completed-with-errors": "#d35400",
    "failed": "#c0392b",
    "cancelled": "#777",
}


def status_badge(status: str) -> SafeString:
    return format_html(
        '<span style="color:#fff;background:{};border-radius:8px;padding:1px 8px;white-space:nowrap">{}</span>',
        STATUS_COLOURS.get(status, "#777"),
        status,
    )


def progress_bar(run: SyncRun | None) -> SafeString:
    done, total = (run.progress_done, run.progress_total) if run else (0, 0)
    percent = round(100 * done / total) if total else (100 if run and run.status == "completed" else 0)
    return format_html(
        '<div class="calsync-progress" title="{} of {}" style="width:90px;background:#ddd;border-radius:4px">'
        '<div style="width:{}%;background:#2c7be5;height:10px;border-radius:4px"></div></div>'
        '<span style="white-space:nowrap">{} / {}</span>',
        done,
        total,
        percent,
        done,
        total,
    )


def _job_admin(site: admin.AdminSite) -> admin.ModelAdmin:
    return site._registry[SyncJob]


def _may_control(site: admin.AdminSite, request: HttpRequest, job: SyncJob) -> bool:
    """Starting, pausing or cancelling a run changes its job: the job's change permission, on a
    job the user can see at all (the owner's, or any for a superuser)."""
    job_admin = _job_admin(site)
    visible = job_admin.get_queryset(request).filter(pk=job.pk).exists()
    return visible and job_admin.has_change_permission(request, job)


RUN_BUTTONS = [("pause", "Pause"), ("resume", "Resume"), ("cancel", "Cancel run")]


def _live_context(run: SyncRun | None) -> dict[str, Any]:
    return {
        "run_snapshot": run_snapshot(run) if run else None,
        "poll_seconds": POLL_SECONDS,
        "run_buttons": RUN_BUTTONS,
        "job_buttons": [("start", "Start now"), *RUN_BUTTONS],
    }


@admin.register(SyncRun)
class SyncRunAdmin(admin.ModelAdmin):
    change_form_template = "admin/jobs/syncrun/change_form.html"
    list_display = ("id", "job", "status_text", "trigger", "created_at", "progress", "result")
    list_filter = ("status", "trigger")
    list_select_related = ("job",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[SyncRun]:
        return sync_run_list_for(user=request.user)

    # A run is a record of what happened: looked at, never edited or deleted by hand.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: SyncRun | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: SyncRun | None = None) -> bool:
        return False

    @admin.display(description="status", ordering="status")
    def status_text(self, run: SyncRun) -> SafeString:
        return status_badge(run.state)

    @admin.display(description="progress")
    def progress(self, run: SyncRun) -> SafeString:
        return progress_bar(run)

    @admin.display(description="result")
    def result(self, run: SyncRun) -> str:
        """The counters that are not zero, in one short line: ``6 created, 1 error, 3 owed``."""
        counts = [
            (run.created, "created"), (run.updated, "updated"), (run.deleted, "deleted"),
            (run.conflicts, "conflicts"), (run.errors, "errors"), (run.owed, "owed"),
            (run.needs_attention, "need attention"),
        ]  # fmt: skip
        return ", ".join(f"{count} {what}" for count, what in counts if count) or "—"

    def changeform_view(
        self, request: HttpRequest, object_id: str | None = None, form_url: str = "", extra_context=None
    ) -> HttpResponse:
        run = self.get_object(request, object_id) if object_id else None
        if run is not None:
            extra_context = {
                **(extra_context or {}),
                **_live_context(run),
                # The model's str() carries the status as it was at render time; the page does not.
                "title": f"Run #{run.pk} of {run.job}",
                "subtitle": None,
                "run_report": run_report(run),
                "may_control": _may_control(self.admin_site, request, run.job),
            }
        return super().changeform_view(request, object_id, form_url, extra_context)

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path("<int:run_id>/progress/", view(self.progress_view), name="jobs_syncrun_progress"),
            path("<int:run_id>/control/<str:verb>/", view(self.control_view), name="jobs_syncrun_control"),
            path("<int:run_id>/report.csv", view(self.report_csv_view), name="jobs_syncrun_report_csv"),
            *super().get_urls(),
        ]

    def progress_view(self, request: HttpRequest, run_id: int) -> HttpResponse:
        """What the run page and the job page poll while the run is active."""
        run = get_object_or_404(self.get_queryset(request), pk=run_id)
        after = request.GET.get("after", "")
        if after and not after.isdigit():
            return HttpResponseBadRequest("after: a log line id")
        return JsonResponse(run_snapshot(run, after=int(after) if after else None))

    def report_csv_view(self, request: HttpRequest, run_id: int) -> HttpResponse:
        run = get_object_or_404(self.get_queryset(request), pk=run_id)
        response = HttpResponse(run_report_csv(run_report(run)), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="calsync-run-{run.pk}-report.csv"'
        return response

    def control_view(self, request: HttpRequest, run_id: int, verb: str) -> HttpResponse:
        if request.method != "POST":
            return HttpResponse(status=405, headers={"Allow": "POST"})
        run = get_object_or_404(self.get_queryset(request).select_related("job"), pk=run_id)
        if verb not in RUN_CONTROLS:
            return HttpResponseBadRequest(f"{verb!r}: pause, resume or cancel")
        if not _may_control(self.admin_site, request, run.job):
            raise PermissionDenied
        try:
            RUN_CONTROLS[verb](run=run)
            self.message_user(request, f"Run #{run.pk}: {verb} requested.", messages.SUCCESS)
        except RunStateError as exc:
            self.message_user(request, str(exc), messages.WARNING)
        return HttpResponseRedirect(reverse("admin:jobs_syncrun_change", args=[run.pk]))


# Inlines an engine's app adds to its jobs' pages: ``(job or None) -> [InlineModelAdmin classes]``
# (the time sheets' mappings; ``jobs.timesheets.admin`` registers them, jobs imports no engine app).
JOB_PAGE_INLINES: list[Callable[[SyncJob | None], list[type[InlineModelAdmin]]]] = []


class JobPageControls:
    """For the job admin: Start, Pause, Resume and Cancel on the job's own page, with its latest
    run's live status (template ``admin/jobs/syncjob/change_form.html``), and the inlines engine
    apps add (``JOB_PAGE_INLINES``)."""

    admin_site: admin.AdminSite

    def get_inlines(self, request: HttpRequest, obj: SyncJob | None) -> list[type[InlineModelAdmin]]:
        own = list(super().get_inlines(request, obj))  # type: ignore[misc]
        return own + [inline for extra in JOB_PAGE_INLINES for inline in extra(obj)]

    @admin.display(description="from → to")
    def route(self, job: SyncJob) -> str:
        return f"{job.source.name} → {job.destination.name}"

    @admin.display(description="mode", ordering="mode")
    def mode_short(self, job: SyncJob) -> str:
        return job.mode  # "copy", "mirror", "two-way": the form explains them

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        control = path("<int:job_id>/control/<str:verb>/", view(self.job_control_view), name="jobs_syncjob_control")
        return [control, *super().get_urls()]  # type: ignore[misc]

    def changeform_view(
        self, request: HttpRequest, object_id: str | None = None, form_url: str = "", extra_context=None
    ) -> HttpResponse:
        job = self.get_object(request, object_id) if object_id else None  # type: ignore[attr-defined]
        if job is not None:
            latest = job.runs.order_by("-created_at", "-id").first()
            active = active_run(job)
            extra_context = {
                **(extra_context or {}),
                **_live_context(latest),
                "latest_run": latest,
                "job_actions": run_actions(active) if active else ["start"],
                "may_control": _may_control(self.admin_site, request, job),
            }
        return super().changeform_view(request, object_id, form_url, extra_context)  # type: ignore[misc]

    @staticmethod
    def _active(job: SyncJob) -> SyncRun:
        run = active_run(job)
        if run is None:
            raise RunStateError(f"{job.name}: no active run")
        return run

    def job_control_view(self, request: HttpRequest, job_id: int, verb: str) -> HttpResponse:
        return require_POST(self._job_control)(request, job_id, verb)

    def _job_control(self, request: HttpRequest, job_id: int, verb: str) -> HttpResponse:
        job = get_object_or_404(self.get_queryset(request), pk=job_id)  # type: ignore[attr-defined]
        if verb not in ("start", *RUN_CONTROLS):
            return HttpResponseBadRequest(f"{verb!r}: start, pause, resume or cancel")
        if not _may_control(self.admin_site, request, job):
            raise PermissionDenied
        try:
            if verb == "start":
                run = sync_job_start(job=job, trigger=SyncRun.Trigger.MANUAL, user=request.user)  # type: ignore[arg-type]
            else:
                run = RUN_CONTROLS[verb](run=self._active(job))
            message = f"{job.name}: run #{run.pk} " + ("started." if verb == "start" else f"{verb} requested.")
            self.message_user(request, message, messages.SUCCESS)  # type: ignore[attr-defined]
        except RunStateError as exc:
            self.message_user(request, str(exc), messages.WARNING)  # type: ignore[attr-defined]
        return HttpResponseRedirect(reverse("admin:jobs_syncjob_change", args=[job.pk]))
