"""Admin for the time-sheet mappings and webhook endpoints."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from jobs.admin_runs import JOB_PAGE_INLINES
from jobs.timesheets import selectors
from jobs.timesheets.admin_inlines import timesheet_inlines_for
from jobs.timesheets.models import (
    ActivityMapping,
    AgentMapping,
    PendingTicket,
    ProjectMapping,
    TimesheetSettings,
    WebhookEndpoint,
)


class ListedForUser(admin.ModelAdmin):
    """Rows come from the entity's ``<entity>_list_for`` selector, as in the API and every admin."""

    list_for: Callable[..., QuerySet[Any]]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return type(self).list_for(user=request.user)


@admin.register(TimesheetSettings)
class TimesheetSettingsAdmin(ListedForUser):
    list_for = selectors.timesheet_settings_list_for
    list_display = ["job", "update_policy", "orphan_policy", "minutes_per_unit", "create_missing_projects"]


@admin.register(ActivityMapping)
class ActivityMappingAdmin(ListedForUser):
    list_for = selectors.activity_mapping_list_for
    list_display = ["job", "zammad_type_id", "zammad_type_name", "kimai_activity"]
    list_filter = ["job"]


@admin.register(ProjectMapping)
class ProjectMappingAdmin(ListedForUser):
    list_for = selectors.project_mapping_list_for
    list_display = ["job", "organisation", "kimai_customer", "kimai_project"]
    list_filter = ["job"]


@admin.register(AgentMapping)
class AgentMappingAdmin(ListedForUser):
    list_for = selectors.agent_mapping_list_for
    list_display = ["job", "zammad_user_id", "email", "kimai_user", "timezone"]
    list_filter = ["job"]


class WebhookEndpointForm(forms.ModelForm):
    # Write-only: the stored secret is never shown; leave it empty to keep it.
    secret = forms.CharField(widget=forms.PasswordInput, required=False, label="HMAC SHA1 signature token")

    class Meta:
        model = WebhookEndpoint
        fields = ["job", "secret", "enabled"]

    def clean_secret(self) -> str:
        value = self.cleaned_data["secret"]
        if not value and not (self.instance.pk and self.instance.secret):
            raise forms.ValidationError("Set the same signature token as in Zammad's webhook.")
        return value or self.instance.secret


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ListedForUser):
    list_for = selectors.webhook_endpoint_list_for
    form = WebhookEndpointForm
    list_display = ["job", "path", "enabled", "created_at"]
    readonly_fields = ["path"]

    @admin.display(description="URL path for Zammad")
    def path(self, obj: WebhookEndpoint) -> str:
        return f"/api/webhooks/zammad/{obj.token}" if obj.pk else "(after saving)"


@admin.register(PendingTicket)
class PendingTicketAdmin(ListedForUser):
    list_for = selectors.pending_ticket_list_for
    list_display = ["job", "ticket_id", "deliveries", "received_at"]


JOB_PAGE_INLINES.append(timesheet_inlines_for)  # the mappings, inline on a Zammad → Kimai job's page
