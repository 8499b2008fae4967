from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "Sync jobs"

    def ready(self) -> None:
        from jobs.audit import audit_connect

        audit_connect()
