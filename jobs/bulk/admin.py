"""Admin for bulk migrations: create, upload users, one status view, start/retry/dry-run, report.

Thin: every write goes through jobs.bulk.services, every read through jobs.bulk.selectors.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.core.files.uploadhandler import MemoryFileUploadHandler
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.utils.decorators import method_decorator
from django.utils.html import format_html, format_html_join
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from jobs.bulk.csvrows import UnreadableFile
from jobs.bulk.models import BulkMigration
from jobs.bulk.selectors import STATES, migration_report_csv, migration_status, migration_users_with_state
from jobs.bulk.services import (
    MIGRATION_FIELDS,
    migration_add_users,
    migration_delete,
    migration_dry_run_queue,
    migration_errors,
    migration_has_active_runs,
    migration_retry,
    migration_save,
    migration_set_admin_passwords,
    migration_start,
)

VERBS = {"start": "Start", "retry": "Retry everything owed", "dry-run": "Dry run (plan totals)"}
ERRORS_SHOWN = 50
USERS_SHOWN = 500


class MigrationAdminForm(forms.ModelForm):
    source_admin_password = forms.CharField(
        required=False, strip=False, widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"})
    )
    destination_admin_password = forms.CharField(
        required=False, strip=False, widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"})
    )

    class Meta:
        model = BulkMigration
        fields = ("owner", *MIGRATION_FIELDS)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.instance.pk is None and cleaned.get("owner"):
            candidate = BulkMigration(**{name: cleaned.get(name) for name in ("owner", *MIGRATION_FIELDS)})
            for name, message in migration_errors(candidate).items():
                self.add_error(name if name in self.fields else None, message)
        return cleaned


@admin.register(BulkMigration)
class BulkMigrationAdmin(admin.ModelAdmin):
    form = MigrationAdminForm
    change_form_template = "admin/bulk/bulkmigration/change_form.html"
    list_display = ("name", "owner", "source_url", "destination_url", "created_at", "started_at")
    list_select_related = ("owner",)
    search_fields = ("name", "owner__username", "users__source_username")
    autocomplete_fields = ("owner",)
    fieldsets = (
        (None, {"fields": ("owner", "name", "status", "users_table")}),
        ("Source", {"fields": ("source_url", "source_verify_tls", "source_admin_username", "source_admin_password",
                               "source_principal_template", "source_authorize_as")}),
        ("Destination", {"fields": ("destination_url", "destination_verify_tls", "destination_admin_username",
                                    "destination_admin_password", "destination_principal_template",
                                    "destination_authorize_as")}),
        ("Jobs", {"fields": ("mode", "conflict_policy", "sync_calendars", "sync_contacts", "components",
                             "create_collections")}),
    )  # fmt: skip

    def get_readonly_fields(self, request: HttpRequest, obj: BulkMigration | None = None) -> tuple[str, ...]:
        # Its jobs and accounts are made from these: after creation they are what they were.
        if obj is None:
            return ("status", "users_table")
        settled = (name for name in MIGRATION_FIELDS if not name.endswith("_password"))
        return ("status", "users_table", "owner", *settled)

    def get_fieldsets(self, request: HttpRequest, obj: BulkMigration | None = None):
        if obj is None:
            return self.fieldsets
        # Stored passwords are never shown, not even as a blank field to overwrite.
        shown = [
            (title, [name for name in options["fields"] if isinstance(name, str) and not name.endswith("_password")])
            for title, options in self.fieldsets
        ]
        return [(title, {"fields": fields}) for title, fields in shown]

    @admin.display(description="Status")
    def status(self, migration: BulkMigration) -> str:
        if migration.pk is None:
            return "-"
        figures = migration_status(migration)
        seconds = figures["seconds_left"]
        left = "unknown" if seconds is None else f"{seconds // 3600} h {seconds % 3600 // 60} min"
        cells = format_html_join(
            "", "<th>{}</th><td>{}</td>", ((state.replace("_", " "), figures[state]) for state in STATES)
        )
        dry = figures["dry_run"]
        planned = (
            format_html(
                '<p id="migration-dry-run">Dry run: {} of {} users planned, {} actions; {} could not plan</p>',
                dry["planned"], dry["of"], dry["actions"], dry["failed"],
            )
            if dry
            else ""
        )  # fmt: skip
        return format_html(
            '<table id="migration-status"><tr><th>users</th><td>{}</td>{}</tr></table>'
            "<p>{} items moved, {} left; estimated time left: {}</p>{}",
            figures["users"], cells, figures["items_moved"], figures["items_left"], left, planned,
        )  # fmt: skip

    def delete_view(self, request: HttpRequest, object_id: str, extra_context=None):
        # Refused while a run is active, before the confirmation page rather than after it.
        migration = self.get_object(request, unquote(object_id))
        if migration is not None and migration_has_active_runs(migration):
            self.message_user(request, "This migration has active runs: cancel them first.", messages.ERROR)
            return self._back(migration)
        return super().delete_view(request, object_id, extra_context)

    def delete_model(self, request: HttpRequest, obj: BulkMigration) -> None:
        migration_delete(migration=obj)  # with its users' jobs and the accounts it created

    def delete_queryset(self, request: HttpRequest, queryset) -> None:
        for migration in queryset:
            if migration_has_active_runs(migration):
                self.message_user(request, f"{migration}: active runs, not deleted.", messages.ERROR)
            else:
                migration_delete(migration=migration)

    def save_model(self, request: HttpRequest, obj: BulkMigration, form: forms.ModelForm, change: bool) -> None:
        if change:  # only the admin passwords can change; a blank field keeps the stored one
            migration_set_admin_passwords(
                migration=BulkMigration.objects.get(pk=obj.pk),
                source=form.cleaned_data.get("source_admin_password") or "",
                destination=form.cleaned_data.get("destination_admin_password") or "",
            )
        else:
            migration_save(migration=obj)  # the API's rules, which the form has already shown

    @admin.display(description="Users")
    def users_table(self, migration: BulkMigration) -> str:
        if migration.pk is None:
            return "-"
        users = migration_users_with_state(migration)
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (u["row"], u["source_user"], u["destination_user"], u["state"].replace("_", " "),
                 f"{u['progress_done']}/{u['progress_total']}", u["created"] + u["updated"] + u["deleted"],
                 u["owed"] + u["needs_attention"], u["error"][:200])
                for u in users[:USERS_SHOWN]
            ),
        )  # fmt: skip
        more = f"{len(users) - USERS_SHOWN} more in the report." if len(users) > USERS_SHOWN else ""
        return format_html(
            '<table id="migration-users"><tr><th>row</th><th>source</th><th>destination</th><th>state</th>'
            "<th>progress</th><th>written</th><th>owed</th><th>error</th></tr>{}</table>{}",
            rows,
            more,
        )

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path("<path:object_id>/upload/", view(self.upload_view), name="bulk_bulkmigration_upload"),
            path("<path:object_id>/report.csv", view(self.report_view), name="bulk_bulkmigration_report"),
            path("<path:object_id>/act/<str:verb>/", view(self.act_view), name="bulk_bulkmigration_act"),
            *super().get_urls(),
        ]

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context=None):
        return super().change_view(
            request, object_id, form_url, {**(extra_context or {}), "migration_verbs": VERBS.items()}
        )

    def _migration(self, request: HttpRequest, object_id: str, *, change: bool = True) -> BulkMigration:
        migration = self.get_object(request, unquote(object_id))
        if migration is None:
            raise PermissionDenied
        allowed = (
            self.has_change_permission(request, migration) if change else self.has_view_permission(request, migration)
        )
        if not allowed:
            raise PermissionDenied
        return migration

    def _back(self, migration: BulkMigration) -> HttpResponseRedirect:
        return HttpResponseRedirect(reverse("admin:bulk_bulkmigration_change", args=[migration.pk]))

    def upload_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        # The list holds passwords: read in memory only, never spooled to a temporary file. The
        # handlers must be set before anything reads the body, the CSRF check included, so that
        # check runs in _upload (Django's documented pattern for custom upload handlers).
        request.upload_handlers = [MemoryFileUploadHandler(request)]
        return self._upload(request, object_id)

    upload_view.csrf_exempt = True  # type: ignore[attr-defined]

    @method_decorator(csrf_protect)
    @method_decorator(require_POST)
    @method_decorator(sensitive_post_parameters())
    def _upload(self, request: HttpRequest, object_id: str) -> HttpResponse:
        migration = self._migration(request, object_id)
        upload = request.FILES.get("file")
        if int(request.META.get("CONTENT_LENGTH") or 0) > settings.CALSYNC_BULK_MAX_UPLOAD_BYTES or upload is None:
            self.message_user(request, "Choose a CSV file (at most 2 MB).", messages.ERROR)
            return self._back(migration)
        try:
            result = migration_add_users(migration=migration, data=upload.read())
        except UnreadableFile as exc:
            self.message_user(request, f"Nothing added: {exc}.", messages.ERROR)
            return self._back(migration)
        self.message_user(request, f"{len(result.created)} users added; {len(result.errors)} rows refused.")
        for error in result.errors[:ERRORS_SHOWN]:
            where = f"row {error.row}" + (f", {error.column}" if error.column else "")
            self.message_user(request, f"{where}: {error.reason}", messages.WARNING)
        return self._back(migration)

    @method_decorator(require_POST)
    def act_view(self, request: HttpRequest, object_id: str, verb: str) -> HttpResponse:
        migration = self._migration(request, object_id)
        if verb == "start":
            self.message_user(request, f"{len(migration_start(migration=migration, user=request.user))} runs queued.")
        elif verb == "retry":
            self.message_user(request, f"{len(migration_retry(migration=migration, user=request.user))} runs queued.")
        elif verb == "dry-run":
            queued = migration_dry_run_queue(migration=migration)
            self.message_user(request, f"Dry run queued for {queued} users; their totals show below as they come.")
        else:
            raise PermissionDenied
        return self._back(migration)

    def report_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        migration = self._migration(request, object_id, change=False)
        response = HttpResponse(migration_report_csv(migration), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="migration-{migration.pk}.csv"'
        return response
