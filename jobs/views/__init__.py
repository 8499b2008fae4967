from calsync.ops.health import DetailedHealthView, HealthView
from jobs.views.sync_jobs import ConflictViewSet, SyncJobViewSet, WorkerStatusView
from jobs.views.sync_runs import SyncRunViewSet

__all__ = [
    "ConflictViewSet", "DetailedHealthView", "HealthView", "SyncJobViewSet", "SyncRunViewSet", "WorkerStatusView",
]  # fmt: skip
