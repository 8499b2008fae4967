"""Sync jobs API: CRUD, start/pause/resume/cancel, runs, logs, dry-run, conflicts, worker status."""

from __future__ import annotations

from collections import Counter

from django.db.models import Count, QuerySet
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.drf import query_int
from calsync.ops.models import Heartbeat
from jobs.api.runs import owed_items_response
from jobs.conflicts import conflict_resolve
from jobs.engines import PairReport
from jobs.engines.dry_run import sync_job_dry_run
from jobs.models import Conflict, OwedItem, SyncJob, SyncLog, SyncRun
from jobs.runs import (
    RunStateError,
    active_run,
    sync_job_start,
    sync_run_cancel,
    sync_run_pause,
    sync_run_resume,
)
from jobs.selectors import conflict_list_for, sync_job_rows_for
from jobs.serializers import (
    ConflictSerializer,
    LogSerializer,
    OwedItemSerializer,
    PairPlanSerializer,
    ResolveSerializer,
    RunSerializer,
    StartSerializer,
    SyncJobSerializer,
    WorkerStatusSerializer,
)
from jobs.services import sync_job_create, sync_job_delete, sync_job_update

DRY_RUN_ACTIONS_SHOWN = 500


def _plan_data(report: PairReport) -> dict:
    return {
        "source": report.source,
        "destination": report.destination,
        "kind": report.kind,
        "counts": dict(Counter(action.op.value for action in report.actions)),
        "would_create": report.would_create,
        "actions": [
            {"op": a.op.value, "source_href": a.source_href, "dest_href": a.dest_href, "reason": a.reason}
            for a in report.actions[:DRY_RUN_ACTIONS_SHOWN]
        ],
    }


@extend_schema_view(
    list=extend_schema(summary="List sync jobs"),
    create=extend_schema(summary="Create a sync job"),
    retrieve=extend_schema(summary="Show a sync job with its status, progress and last run"),
    update=extend_schema(summary="Replace a sync job"),
    partial_update=extend_schema(summary="Change a sync job"),
    destroy=extend_schema(summary="Delete a sync job, its runs, logs and sync state"),
)
class SyncJobViewSet(viewsets.ModelViewSet):
    serializer_class = SyncJobSerializer
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> QuerySet[SyncJob]:
        return sync_job_rows_for(user=self.request.user)

    def perform_create(self, serializer: SyncJobSerializer) -> None:
        serializer.instance = sync_job_create(owner=self.request.user, **serializer.validated_data)

    def perform_update(self, serializer: SyncJobSerializer) -> None:
        sync_job_update(job=serializer.instance, **serializer.validated_data)

    def perform_destroy(self, job: SyncJob) -> None:
        if active_run(job):
            raise RunStateError("The job has an active run; cancel it first.")
        sync_job_delete(job=job)

    def _run_response(self, run: SyncRun, code: int = status.HTTP_200_OK) -> Response:
        return Response(RunSerializer(run).data, status=code)

    def _active(self, job: SyncJob) -> SyncRun:
        run = active_run(job)
        if run is None:
            raise RunStateError("The job has no active run.")
        return run

    @extend_schema(summary="Start a run", request=StartSerializer, responses={202: RunSerializer})
    @action(detail=True, methods=["post"])
    def start(self, request: Request, pk: str | None = None) -> Response:
        job = self.get_object()
        options = StartSerializer(data=request.data)
        options.is_valid(raise_exception=True)
        run = sync_job_start(job=job, trigger=SyncRun.Trigger.API, user=request.user, **options.validated_data)
        return self._run_response(run, status.HTTP_202_ACCEPTED)

    @extend_schema(summary="Pause the active run at its next clean point", request=None, responses={200: RunSerializer})
    @action(detail=True, methods=["post"])
    def pause(self, request: Request, pk: str | None = None) -> Response:
        return self._run_response(sync_run_pause(run=self._active(self.get_object())))

    @extend_schema(summary="Resume a paused run", request=None, responses={200: RunSerializer})
    @action(detail=True, methods=["post"])
    def resume(self, request: Request, pk: str | None = None) -> Response:
        return self._run_response(sync_run_resume(run=self._active(self.get_object())))

    @extend_schema(summary="Cancel the active run", request=None, responses={200: RunSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        return self._run_response(sync_run_cancel(run=self._active(self.get_object())))

    @extend_schema(summary="Runs of the job, newest first", responses={200: RunSerializer(many=True)})
    @action(detail=True, methods=["get"])
    def runs(self, request: Request, pk: str | None = None) -> Response:
        page = self.paginate_queryset(self.get_object().runs.all())
        return self.get_paginated_response(RunSerializer(page, many=True).data)

    @extend_schema(
        summary="Items the job still owes (retried automatically) or that need attention",
        parameters=[OpenApiParameter("state", str, enum=OwedItem.State.values, description="Only this state.")],
        responses={200: OwedItemSerializer(many=True)},
    )
    @action(detail=True, methods=["get"])
    def owed(self, request: Request, pk: str | None = None) -> Response:
        return owed_items_response(self, self.get_object(), request)

    @extend_schema(
        summary="Log lines of the job's runs",
        parameters=[
            OpenApiParameter("run", int, description="Only this run (default: the latest run)."),
            OpenApiParameter("after", int, description="Only lines with a larger id (for tailing)."),
            OpenApiParameter("level", str, enum=SyncLog.Level.values, description="Only this level and above."),
        ],
        responses={200: LogSerializer(many=True)},
    )
    @action(detail=True, methods=["get"])
    def logs(self, request: Request, pk: str | None = None) -> Response:
        job = self.get_object()
        params = request.query_params
        run_id = query_int(params, "run") or job.runs.values_list("id", flat=True).first()
        lines = SyncLog.objects.filter(run__job=job, run_id=run_id)
        if (after := query_int(params, "after")) is not None:
            lines = lines.filter(id__gt=after)
        if params.get("level") in SyncLog.Level.values:
            levels = SyncLog.Level.values
            lines = lines.filter(level__in=levels[levels.index(params["level"]) :])
        page = self.paginate_queryset(lines.order_by("id"))
        return self.get_paginated_response(LogSerializer(page, many=True).data)

    @extend_schema(
        summary="Plan a run without writing anything",
        description="Lists both sides and compares them with the sync state; returns what a run would do.",
        request=StartSerializer,
        responses={200: PairPlanSerializer(many=True)},
    )
    @action(detail=True, methods=["post"], url_path="dry-run", pagination_class=None)  # a plain list, as documented
    def dry_run(self, request: Request, pk: str | None = None) -> Response:
        job = self.get_object()
        options = StartSerializer(data=request.data)
        options.is_valid(raise_exception=True)
        # A wipe refused (EmptySideGuard) is a 409, a server that cannot be asked a 502: the API's handler.
        reports = sync_job_dry_run(job=job, confirm_empty=options.validated_data["confirm_empty"])
        return Response([_plan_data(report) for report in reports])


@extend_schema_view(
    list=extend_schema(
        summary="Conflicts of your jobs",
        parameters=[OpenApiParameter("open", bool, description="Only unresolved conflicts.")],
    ),
    retrieve=extend_schema(summary="Show a conflict with both versions"),
)
class ConflictViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = ConflictSerializer
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> QuerySet[Conflict]:
        conflicts = conflict_list_for(user=self.request.user)
        if self.request.query_params.get("open") in ("1", "true", "yes"):
            conflicts = conflicts.filter(resolution="")
        return conflicts

    @extend_schema(summary="Resolve a conflict", request=ResolveSerializer, responses={200: ConflictSerializer})
    @action(detail=True, methods=["post"])
    def resolve(self, request: Request, pk: str | None = None) -> Response:
        conflict = self.get_object()
        choice = ResolveSerializer(data=request.data)
        choice.is_valid(raise_exception=True)
        conflict = conflict_resolve(
            conflict=conflict, resolution=choice.validated_data["resolution"], user=request.user
        )
        return Response(ConflictSerializer(conflict).data)


class WorkerStatusView(APIView):
    """Worker names, beat and queue depth describe the deployment, not a user's data: staff only."""

    permission_classes = [IsAdminUser]

    @extend_schema(summary="Workers, beat and the run queue", responses={200: WorkerStatusSerializer})
    def get(self, request: Request) -> Response:
        now = timezone.now()
        beats = Heartbeat.objects.filter(kind__in=["worker", "beat"]).order_by("kind", "name")
        workers = [
            {"name": b.name, "last_seen": b.seen_at, "age_seconds": round((now - b.seen_at).total_seconds(), 1)}
            for b in beats
            if b.kind == "worker"
        ]
        beat = next(({"name": b.name, "last_seen": b.seen_at} for b in beats if b.kind == "beat"), None)
        runs = dict(SyncRun.objects.filter(status__in=SyncRun.ACTIVE).values_list("status").annotate(n=Count("id")))
        return Response({"workers": workers, "beat": beat, "runs": {s: runs.get(s, 0) for s in SyncRun.ACTIVE}})
