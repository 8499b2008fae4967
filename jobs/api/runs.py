"""Runs and what they left behind: run reports (JSON and CSV) and a job's owed items."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from jobs.models import OwedItem, SyncRun
from jobs.reports import run_report, run_report_csv
from jobs.selectors import sync_run_list_for
from jobs.serializers import OwedItemSerializer, RunReportSerializer, RunSerializer


@extend_schema_view(
    list=extend_schema(
        summary="Runs of your jobs, newest first",
        parameters=[
            OpenApiParameter("job", int, description="Only this job's runs."),
            OpenApiParameter("clean", bool, description="Only runs that left nothing behind (true) or did (false)."),
        ],
    ),
    retrieve=extend_schema(summary="Show a run"),
)
class SyncRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = RunSerializer
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> QuerySet[SyncRun]:
        runs = sync_run_list_for(user=self.request.user)
        params = self.request.query_params
        if params.get("job", "").isdigit():
            runs = runs.filter(job_id=int(params["job"]))
        if params.get("clean") in ("1", "true", "yes"):
            runs = runs.filter(status=SyncRun.Status.COMPLETED, owed=0, needs_attention=0, errors=0)
        elif params.get("clean") in ("0", "false", "no"):
            runs = runs.exclude(status=SyncRun.Status.COMPLETED, owed=0, needs_attention=0, errors=0)
        return runs

    @extend_schema(summary="The run's report: counts per collection, failed and owed items, repairs and skips",
                   responses={200: RunReportSerializer})  # fmt: skip
    @action(detail=True, methods=["get"])
    def report(self, request: Request, pk: str | None = None) -> Response:
        return Response(run_report(self.get_object()))

    @extend_schema(summary="The run's report as CSV", responses={(200, "text/csv"): OpenApiTypes.STR})
    @action(detail=True, methods=["get"], url_path=r"report\.csv", url_name="report-csv")
    def report_csv(self, request: Request, pk: str | None = None) -> HttpResponse:
        run = self.get_object()
        response = HttpResponse(run_report_csv(run_report(run)), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="calsync-run-{run.pk}-report.csv"'
        return response


def owed_items_response(view, job, request: Request) -> Response:
    """``GET /api/sync-jobs/<id>/owed``: the job's ledger, paged; ``?state=`` narrows it."""
    items = job.owed_items.all()
    state = request.query_params.get("state", "")
    if state in OwedItem.State.values:
        items = items.filter(state=state)
    page = view.paginate_queryset(items)
    return view.get_paginated_response(OwedItemSerializer(page, many=True).data)
