from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "Sync jobs"

    def ready(self) -> None:
        from calsync.ops.audit import audit_connect
        from jobs.timesheets.webhook import webhook_followup_connect

        audit_connect()
        webhook_followup_connect()
