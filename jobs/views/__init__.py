from jobs.views.health import DetailedHealthView, HealthView
from jobs.views.sync_jobs import ConflictViewSet, SyncJobViewSet, WorkerStatusView

__all__ = ["ConflictViewSet", "DetailedHealthView", "HealthView", "SyncJobViewSet", "WorkerStatusView"]
