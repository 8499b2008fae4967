"""Bulk migrations API: create, upload users, status, start, retry, dry-run, schedule, report."""

from __future__ import annotations

from django.conf import settings
from django.core.files.uploadhandler import MemoryFileUploadHandler
from django.db.models import QuerySet
from django.http import HttpResponse
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from jobs.bulk.csvrows import UnreadableFile
from jobs.bulk.models import BulkMigration
from jobs.bulk.selectors import migration_list_for, migration_report_csv, migration_status, migration_users_with_state
from jobs.bulk.serializers import MigrationScheduleSerializer, MigrationSerializer, UploadSerializer
from jobs.bulk.services import (
    migration_add_users,
    migration_create,
    migration_delete,
    migration_dry_run_queue,
    migration_retry,
    migration_set_schedule,
    migration_start,
)
from jobs.models import SyncRun


@extend_schema_view(
    list=extend_schema(summary="List bulk migrations"),
    create=extend_schema(summary="Create a bulk migration (servers and job options; users come by upload)"),
    retrieve=extend_schema(summary="A bulk migration with its status: users per state, items moved, time left"),
    destroy=extend_schema(summary="Delete a migration, its users' jobs and accounts (409 while running)"),
)
class MigrationViewSet(
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = MigrationSerializer
    lookup_value_regex = r"\d+"

    def initialize_request(self, request, *args, **kwargs):
        # An uploaded user list holds passwords: it is read in memory only, never spooled to a
        # temporary file; a file larger than the memory limit is refused (see upload()).
        request.upload_handlers = [MemoryFileUploadHandler(request)]
        return super().initialize_request(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[BulkMigration]:
        return migration_list_for(user=self.request.user)

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        created = migration_create(owner=self.request.user, **serializer.validated_data)  # 400s: the handler
        serializer.instance = self.get_queryset().get(pk=created.pk)

    def perform_destroy(self, instance: BulkMigration) -> None:
        migration_delete(migration=instance)  # a StateConflict is the handler's 409

    def retrieve(self, request: Request, *args, **kwargs) -> Response:
        migration = self.get_object()
        data = MigrationSerializer(migration).data
        data["status"] = migration_status(migration)
        return Response(data)

    @extend_schema(summary="The users of a migration with their state and last run's counters")
    @action(detail=True, methods=["get"])
    def users(self, request: Request, pk: str | None = None) -> Response:
        return Response(migration_users_with_state(self.get_object()))

    @extend_schema(
        summary="Add users from a CSV list (source_user, source_password, destination_user, destination_password)",
        request=UploadSerializer,
    )
    @action(detail=True, methods=["post"])
    def upload(self, request: Request, pk: str | None = None) -> Response:
        migration = self.get_object()
        if int(request.META.get("CONTENT_LENGTH") or 0) > settings.CALSYNC_BULK_MAX_UPLOAD_BYTES:
            raise ValidationError({"file": [f"larger than {settings.CALSYNC_BULK_MAX_UPLOAD_BYTES} bytes"]})
        upload = UploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        data = upload.validated_data.get("csv") or upload.validated_data["file"].read()
        try:
            result = migration_add_users(migration=migration, data=data)
        except UnreadableFile as exc:
            raise ValidationError({"file": [str(exc)]}) from None
        return Response(result.as_dict(), status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)

    def _runs(self, runs: list[SyncRun]) -> Response:
        return Response({"queued": len(runs), "runs": [run.pk for run in runs]}, status=status.HTTP_202_ACCEPTED)

    @extend_schema(summary="Start every user's job that is not running; users take turns", request=None)
    @action(detail=True, methods=["post"])
    def start(self, request: Request, pk: str | None = None) -> Response:
        return self._runs(migration_start(migration=self.get_object(), user=request.user, trigger=SyncRun.Trigger.API))

    @extend_schema(summary="Run again every user who owes items or whose last run failed", request=None)
    @action(detail=True, methods=["post"])
    def retry(self, request: Request, pk: str | None = None) -> Response:
        return self._runs(migration_retry(migration=self.get_object(), user=request.user, trigger=SyncRun.Trigger.API))

    @extend_schema(
        summary="Queue a plan of every user's job, write nothing; totals come per user in the status", request=None
    )
    @action(detail=True, methods=["post"], url_path="dry-run")
    def dry_run(self, request: Request, pk: str | None = None) -> Response:
        queued = migration_dry_run_queue(migration=self.get_object())
        return Response({"queued": queued}, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        summary="Keep in step: one schedule on all the migration's jobs", request=MigrationScheduleSerializer
    )
    @action(detail=True, methods=["post"])
    def schedule(self, request: Request, pk: str | None = None) -> Response:
        migration = self.get_object()
        options = MigrationScheduleSerializer(data=request.data)
        options.is_valid(raise_exception=True)
        jobs = migration_set_schedule(migration=migration, **options.validated_data)
        return Response({"jobs": jobs, **options.validated_data})

    @extend_schema(summary="The migration's report as CSV, one line per user")
    @action(detail=True, methods=["get"], url_path="report.csv")
    def report_csv(self, request: Request, pk: str | None = None) -> HttpResponse:
        migration = self.get_object()
        response = HttpResponse(migration_report_csv(migration), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="migration-{migration.pk}.csv"'
        return response
