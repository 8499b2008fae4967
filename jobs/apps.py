from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "Sync jobs"

    def ready(self) -> None:
        from calsync.ops.audit import audit_track, audit_track_resolutions
        from calsync.ops.gdpr import gdpr_source_register
        from jobs import worker  # noqa: F401  (connects the runner's worker signals: runs go back on a warm shutdown)
        from jobs.models import (
            ActivityMapping,
            AgentMapping,
            Conflict,
            ProjectMapping,
            SyncJob,
            TimesheetSettings,
            WebhookEndpoint,
        )
        from jobs.timesheets import gdpr
        from jobs.timesheets.webhook import webhook_followup_connect

        audit_track(SyncJob, TimesheetSettings, ActivityMapping, ProjectMapping, AgentMapping, WebhookEndpoint)
        audit_track_resolutions(Conflict)
        gdpr_source_register("timesheets", export=gdpr.export, purge=gdpr.purge, nested=False)
        webhook_followup_connect()
