from jobs.views.sync_jobs import ConflictViewSet, SyncJobViewSet, WorkerStatusView
from jobs.views.sync_runs import SyncRunViewSet

__all__ = [
    "ConflictViewSet", "SyncJobViewSet", "SyncRunViewSet", "WorkerStatusView",
]  # fmt: skip
