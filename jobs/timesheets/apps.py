from django.apps import AppConfig


class TimesheetsConfig(AppConfig):
    name = "jobs.timesheets"
    label = "timesheets"
    verbose_name = "Time sheets"

    def ready(self) -> None:
        from calsync.ops.audit import audit_track
        from calsync.ops.gdpr import gdpr_source_register
        from jobs.timesheets import gdpr
        from jobs.timesheets.models import (
            ActivityMapping,
            AgentMapping,
            ProjectMapping,
            TimesheetSettings,
            WebhookEndpoint,
        )

        audit_track(TimesheetSettings, ActivityMapping, ProjectMapping, AgentMapping, WebhookEndpoint)
        gdpr_source_register("timesheets", export=gdpr.export, purge=gdpr.purge, nested=False)
