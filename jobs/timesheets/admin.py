"""Admin for the time-sheet mappings and webhook endpoints."""

from __future__ import annotations

from django import forms
from django.contrib import admin

from jobs.timesheets.models import (
    ActivityMapping,
    AgentMapping,
    PendingTicket,
    ProjectMapping,
    TimesheetSettings,
    WebhookEndpoint,
)


@admin.register(TimesheetSettings)
class TimesheetSettingsAdmin(admin.ModelAdmin):
    list_display = ["job", "update_policy", "orphan_policy", "minutes_per_unit", "create_missing_projects"]


@admin.register(ActivityMapping)
class ActivityMappingAdmin(admin.ModelAdmin):
    list_display = ["job", "zammad_type_id", "zammad_type_name", "kimai_activity"]
    list_filter = ["job"]


@admin.register(ProjectMapping)
class ProjectMappingAdmin(admin.ModelAdmin):
    list_display = ["job", "organisation", "kimai_customer", "kimai_project"]
    list_filter = ["job"]


@admin.register(AgentMapping)
class AgentMappingAdmin(admin.ModelAdmin):
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
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = ["job", "path", "enabled", "created_at"]
    readonly_fields = ["path"]

    @admin.display(description="URL path for Zammad")
    def path(self, obj: WebhookEndpoint) -> str:
        return f"/api/webhooks/zammad/{obj.token}" if obj.pk else "(after saving)"


@admin.register(PendingTicket)
class PendingTicketAdmin(admin.ModelAdmin):
    list_display = ["job", "ticket_id", "deliveries", "received_at"]
