from django.urls import re_path
from rest_framework.routers import SimpleRouter

from jobs.api.runs import SyncRunViewSet
from jobs.api.views import ConflictViewSet, SyncJobViewSet, WorkerStatusView

router = SimpleRouter()
# Same slash rule as accounts.urls: with or without, both answer.
router.trailing_slash = "/?"
router.register("sync-jobs", SyncJobViewSet, basename="sync-job")
router.register("sync-runs", SyncRunViewSet, basename="sync-run")
router.register("conflicts", ConflictViewSet, basename="conflict")

urlpatterns = [
    re_path(r"^worker/status/?$", WorkerStatusView.as_view(), name="worker-status"),
    *router.urls,
]
