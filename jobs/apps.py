from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "Sync jobs"

    def ready(self) -> None:
        from calsync.ops.audit import audit_track, audit_track_resolutions
        from jobs import worker  # noqa: F401  (connects the runner's worker signals: runs go back on a warm shutdown)
        from jobs.models import Conflict, SyncJob

        audit_track(SyncJob)
        audit_track_resolutions(Conflict)
