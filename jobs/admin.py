from __future__ import annotations

import difflib
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from jobs.conflicts import ConflictError, conflict_resolve
from jobs.engines.forms import job_form_clean, job_form_fieldsets, job_form_help
from jobs.models import Conflict, SyncJob, SyncLog, SyncRun
from jobs.reports import run_report, run_report_csv
from jobs.runs import (
    RunStateError,
    active_run,
    sync_job_start,
    sync_run_cancel,
    sync_run_pause,
    sync_run_resume,
)
from jobs.schedules import schedule_description, sync_job_set_schedule
from jobs.selectors import conflict_list_for, latest_runs, owed_counts, sync_job_rows_for, sync_run_list_for

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
        '<span style="color:#fff;background:{};border-radius:8px;padding:1px 8px">{}</span>',
        STATUS_COLOURS.get(status, "#777"),
        status,
    )


def progress_bar(run: SyncRun | None) -> SafeString:
    done, total = (run.progress_done, run.progress_total) if run else (0, 0)
    percent = round(100 * done / total) if total else (100 if run and run.status == "completed" else 0)
    return format_html(
        '<div class="calsync-progress" title="{} of {}" style="width:120px;background:#ddd;border-radius:4px">'
        '<div style="width:{}%;background:#2c7be5;height:10px;border-radius:4px"></div></div>{} / {}',
        done,
        total,
        percent,
        done,
        total,
    )


class SyncJobForm(forms.ModelForm):
    interval_minutes = forms.IntegerField(min_value=1, required=False, help_text="Run every N minutes.")
    crontab = forms.CharField(required=False, help_text='Or on a crontab, e.g. "*/30 6-22 * * 1-5".')

    class Meta:
        model = SyncJob
        fields = [
            "name", "source", "destination", "mode", "conflict_policy", "enabled", "sync_calendars", "sync_contacts",
            "components", "create_collections", "collection_map", "sync_all", "keep_local", "strict",
        ]  # fmt: skip

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        job_form_help(self)
        if self.instance.pk:
            current = schedule_description(self.instance)
            self.fields["interval_minutes"].initial = current["interval_minutes"]
            self.fields["crontab"].initial = current["crontab"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("interval_minutes") and cleaned.get("crontab"):
            raise ValidationError("Give an interval or a crontab, not both.")
        job_form_clean(self, cleaned)
        return cleaned


@admin.register(SyncJob)
class SyncJobAdmin(admin.ModelAdmin):
    form = SyncJobForm
    list_display = (
        "name", "source", "destination", "mode", "status", "progress", "owed_text", "retry_at", "schedule_text",
        "enabled",
    )  # fmt: skip
    list_filter = ("mode", "enabled")
    search_fields = ("name",)
    actions = ("start_jobs", "pause_jobs", "resume_jobs", "cancel_jobs")
    fieldsets = (
        (None, {"fields": ("name", "source", "destination", "mode", "conflict_policy", "enabled")}),
        ("What", {"fields": ("sync_calendars", "sync_contacts", "components", "create_collections", "collection_map")}),
        ("Objects a destination refuses", {"fields": ("strict",)}),
        ("ICS imports", {"fields": ("sync_all", "keep_local"), "classes": ("collapse",)}),
        ("Schedule", {"fields": ("interval_minutes", "crontab")}),
    )

    def get_fieldsets(self, request: HttpRequest, obj: SyncJob | None = None) -> list:
        return job_form_fieldsets(obj, super().get_fieldsets(request, obj))

    def get_queryset(self, request: HttpRequest) -> QuerySet[SyncJob]:
        return sync_job_rows_for(user=request.user)

    def get_changelist_instance(self, request: HttpRequest):
        changelist = super().get_changelist_instance(request)
        self._latest = latest_runs(changelist.result_list)
        return changelist

    @admin.display(description="status")
    def status(self, job: SyncJob) -> SafeString:
        run = getattr(self, "_latest", {}).get(job.pk)
        if run is None:
            return status_badge("pending")
        url = reverse("admin:jobs_syncrun_change", args=[run.pk])
        return format_html('<a href="{}">{}</a>', url, status_badge(run.state))

    @admin.display(description="owed")
    def owed_text(self, job: SyncJob) -> SafeString | str:
        counts = owed_counts(job)
        if not any(counts.values()):
            return "—"
        url = reverse("admin:jobs_oweditem_changelist") + f"?job__id__exact={job.pk}"
        return format_html(
            '<a href="{}">{} owed, {} need attention</a>', url, counts["owed"], counts["needs_attention"]
        )

    @admin.display(description="progress")
    def progress(self, job: SyncJob) -> SafeString:
        return progress_bar(getattr(self, "_latest", {}).get(job.pk))

    @admin.display(description="schedule")
    def schedule_text(self, job: SyncJob) -> str:
        current = schedule_description(job)
        if current["interval_minutes"]:
            return f"every {current['interval_minutes']} min"
        return current["crontab"] or "—"

    def save_model(self, request: HttpRequest, obj: SyncJob, form: SyncJobForm, change: bool) -> None:
        if not change:
            obj.owner = request.user
        super().save_model(request, obj, form, change)
        sync_job_set_schedule(
            job=obj,
            interval_minutes=form.cleaned_data.get("interval_minutes"),
            crontab=form.cleaned_data.get("crontab", ""),
        )

    def _for_each(self, request: HttpRequest, jobs: QuerySet[SyncJob], verb: str, change) -> None:
        done = 0
        for job in jobs:
            try:
                change(job)
                done += 1
            except RunStateError as exc:
                self.message_user(request, f"{job.name}: {exc}", messages.WARNING)
        if done:
            self.message_user(request, f"{verb} {done} job(s).", messages.SUCCESS)

    @admin.action(description="Start selected jobs")
    def start_jobs(self, request: HttpRequest, jobs: QuerySet[SyncJob]) -> None:
        self._for_each(request, jobs, "Started", lambda job: sync_job_start(job=job, user=request.user))

    @admin.action(description="Pause selected jobs")
    def pause_jobs(self, request: HttpRequest, jobs: QuerySet[SyncJob]) -> None:
        self._for_each(request, jobs, "Paused", lambda job: sync_run_pause(run=_active(job)))

    @admin.action(description="Resume selected jobs")
    def resume_jobs(self, request: HttpRequest, jobs: QuerySet[SyncJob]) -> None:
        self._for_each(request, jobs, "Resumed", lambda job: sync_run_resume(run=_active(job)))

    @admin.action(description="Cancel selected jobs")
    def cancel_jobs(self, request: HttpRequest, jobs: QuerySet[SyncJob]) -> None:
        self._for_each(request, jobs, "Cancelled", lambda job: sync_run_cancel(run=_active(job)))


def _active(job: SyncJob) -> SyncRun:
    run = active_run(job)
    if run is None:
        raise RunStateError("no active run")
    return run


class LogInline(admin.TabularInline):
    model = SyncLog
    fields = ("created_at", "level", "message", "item")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    ordering = ("-id",)
    classes = ("calsync-log",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[SyncLog]:
        # The newest 500 lines; the API pages through all of them.
        ids = list(super().get_queryset(request).order_by("-id").values_list("id", flat=True)[:500])
        return super().get_queryset(request).filter(id__in=ids)


@admin.register(SyncRun)
class SyncRunAdmin(admin.ModelAdmin):
    change_form_template = "admin/jobs/syncrun/change_form.html"
    list_display = (
        "id",
        "job",
        "status_text",
        "trigger",
        "created_at",
        "progress",
        "created",
        "updated",
        "deleted",
        "errors",
        "owed",
        "needs_attention",
    )
    list_filter = ("status", "trigger")
    list_select_related = ("job",)
    readonly_fields = [field.name for field in SyncRun._meta.fields]
    inlines = [LogInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[SyncRun]:
        return sync_run_list_for(user=request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="status", ordering="status")
    def status_text(self, run: SyncRun) -> SafeString:
        return status_badge(run.state)

    def changeform_view(
        self, request: HttpRequest, object_id: str | None = None, form_url: str = "", extra_context=None
    ):
        run = self.get_object(request, object_id) if object_id else None
        if run is not None:
            extra_context = {**(extra_context or {}), "run_report": run_report(run)}
        return super().changeform_view(request, object_id, form_url, extra_context)

    def report_csv_view(self, request: HttpRequest, run_id: int) -> HttpResponse:
        run = get_object_or_404(self.get_queryset(request), pk=run_id)
        response = HttpResponse(run_report_csv(run_report(run)), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="calsync-run-{run.pk}-report.csv"'
        return response

    @admin.display(description="progress")
    def progress(self, run: SyncRun) -> SafeString:
        return progress_bar(run)

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path("<int:run_id>/progress/", view(self.progress_view), name="jobs_syncrun_progress"),
            path("<int:run_id>/control/<str:verb>/", view(self.control_view), name="jobs_syncrun_control"),
            path("<int:run_id>/report.csv", view(self.report_csv_view), name="jobs_syncrun_report_csv"),
            *super().get_urls(),
        ]

    def progress_view(self, request: HttpRequest, run_id: int) -> JsonResponse:
        """What the run page polls while the run is active: state, counters and new log lines."""
        run = get_object_or_404(self.get_queryset(request), pk=run_id)
        after = int(request.GET.get("after", 0) or 0)
        lines = list(
            run.logs.filter(id__gt=after).order_by("id").values("id", "created_at", "level", "message", "item")[:200]
        )
        counters = (
            "created",
            "updated",
            "deleted",
            "unchanged",
            "conflicts",
            "errors",
            "progress_done",
            "progress_total",
        )
        return JsonResponse(
            {
                "status": run.state,
                "active": run.is_active,
                **{name: getattr(run, name) for name in counters},
                "logs": lines,
            }
        )

    def control_view(self, request: HttpRequest, run_id: int, verb: str) -> HttpResponse:
        run = get_object_or_404(self.get_queryset(request), pk=run_id)
        controls = {"pause": sync_run_pause, "resume": sync_run_resume, "cancel": sync_run_cancel}
        if request.method != "POST" or verb not in controls:
            return HttpResponse(status=405)
        try:
            controls[verb](run=run)
            self.message_user(request, f"Run #{run.pk}: {verb} requested.", messages.SUCCESS)
        except RunStateError as exc:
            self.message_user(request, str(exc), messages.WARNING)
        return HttpResponseRedirect(reverse("admin:jobs_syncrun_change", args=[run.pk]))


@admin.register(Conflict)
class ConflictAdmin(admin.ModelAdmin):
    change_form_template = "admin/jobs/conflict/change_form.html"
    list_display = ("id", "job", "uid", "reason", "created_at", "resolution", "resolved_by")
    list_filter = ("resolution", "job")
    search_fields = ("uid", "source_href", "dest_href")
    actions = ("use_source", "use_destination", "ignore")
    readonly_fields = [field.name for field in Conflict._meta.fields]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Conflict]:
        return conflict_list_for(user=request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def changeform_view(
        self, request: HttpRequest, object_id: str | None = None, form_url: str = "", extra_context=None
    ):
        conflict = self.get_object(request, object_id) if object_id else None
        if conflict is not None:
            diff = difflib.HtmlDiff(wrapcolumn=70).make_table(
                conflict.source_data.splitlines(), conflict.dest_data.splitlines(), "source", "destination"
            )
            extra_context = {**(extra_context or {}), "side_by_side": SafeString(diff)}
        return super().changeform_view(request, object_id, form_url, extra_context)

    def _resolve(self, request: HttpRequest, conflicts: QuerySet[Conflict], resolution: str) -> None:
        for conflict in conflicts:
            try:
                conflict_resolve(conflict=conflict, resolution=resolution, user=request.user)
                self.message_user(request, f"Conflict #{conflict.pk}: {resolution}.", messages.SUCCESS)
            except ConflictError as exc:
                self.message_user(request, f"Conflict #{conflict.pk}: {exc}", messages.WARNING)

    @admin.action(description="Resolve: use the source version")
    def use_source(self, request: HttpRequest, conflicts: QuerySet[Conflict]) -> None:
        self._resolve(request, conflicts, Conflict.Resolution.SOURCE)

    @admin.action(description="Resolve: use the destination version")
    def use_destination(self, request: HttpRequest, conflicts: QuerySet[Conflict]) -> None:
        self._resolve(request, conflicts, Conflict.Resolution.DESTINATION)

    @admin.action(description="Resolve: ignore")
    def ignore(self, request: HttpRequest, conflicts: QuerySet[Conflict]) -> None:
        self._resolve(request, conflicts, Conflict.Resolution.IGNORE)

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        resolve = path(
            "<int:conflict_id>/resolve/<str:resolution>/", view(self.resolve_view), name="jobs_conflict_resolve"
        )
        return [resolve, *super().get_urls()]

    def resolve_view(self, request: HttpRequest, conflict_id: int, resolution: str) -> HttpResponse:
        if request.method != "POST":
            return HttpResponse(status=405)
        self._resolve(request, self.get_queryset(request).filter(pk=conflict_id), resolution)
        return HttpResponseRedirect(reverse("admin:jobs_conflict_change", args=[conflict_id]))


import jobs.admin_ledger  # noqa: E402, F401 - registers the owed-items admin
