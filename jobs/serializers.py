"""API shapes of the jobs app: sync jobs, runs, logs, conflicts."""

from __future__ import annotations

from typing import cast

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import Account
from accounts.selectors import account_list_for
from jobs.models import CALENDAR_COMPONENTS, Conflict, OwedItem, SyncJob, SyncLog, SyncRun
from jobs.schedules import schedule_description
from jobs.selectors import latest_runs, owed_counts

# --- sync jobs ---------------------------------------------------------------------------------


class ScheduleSerializer(serializers.Serializer):
    interval_minutes = serializers.IntegerField(min_value=1, allow_null=True, required=False)
    crontab = serializers.CharField(allow_blank=True, required=False, help_text='e.g. "*/30 6-22 * * *"')
    enabled = serializers.BooleanField(read_only=True)


class RunSerializer(serializers.ModelSerializer):
    progress_percent = serializers.SerializerMethodField()
    state = serializers.CharField(
        read_only=True,
        help_text="The status as it reads to a person: pausing/cancelling while a request waits for the clean "
        "point, completed-with-owed-items or completed-with-errors for a run that left something behind.",
    )
    clean = serializers.BooleanField(
        source="is_clean", read_only=True, help_text="Completed with no errors and nothing owed."
    )

    class Meta:
        model = SyncRun
        fields = [
            "id", "job", "status", "state", "clean", "trigger", "created_at", "started_at", "finished_at",
            "heartbeat_at", "created", "updated", "deleted", "unchanged", "conflicts", "errors",
            "owed", "needs_attention", "progress_done", "progress_total", "progress_percent", "error", "attempts",
            "pause_requested", "cancel_requested", "worker",
        ]  # fmt: skip
        read_only_fields = fields

    def get_progress_percent(self, run: SyncRun) -> float:
        return round(100 * run.progress_done / run.progress_total, 1) if run.progress_total else 0.0


class SyncJobListSerializer(serializers.ListSerializer):
    """A page of jobs loads its latest runs in one query (the jobs come annotated from the selector)."""

    def to_representation(self, data) -> list:
        jobs = list(data.all() if hasattr(data, "all") else data)
        cache = cast(dict, self.context).setdefault("latest_runs", {})
        cache.update(dict.fromkeys(job.pk for job in jobs) | latest_runs(jobs))
        return super().to_representation(jobs)


class SyncJobSerializer(serializers.ModelSerializer):
    source = serializers.PrimaryKeyRelatedField(queryset=Account.objects.all())
    destination = serializers.PrimaryKeyRelatedField(queryset=Account.objects.all())
    components = serializers.ListField(
        child=serializers.ChoiceField(choices=CALENDAR_COMPONENTS), required=False, allow_empty=False
    )
    collection_map = serializers.DictField(
        child=serializers.CharField(allow_blank=True),
        required=False,
        help_text='{"source collection URL": "destination collection URL, or \\"\\" to match by name"}; '
        "when set, only these collections are synced.",
    )
    schedule = ScheduleSerializer(required=False, help_text="Run every N minutes or on a crontab; null fields: none.")
    status = serializers.SerializerMethodField(help_text="The latest run's status, or pending.")
    state = serializers.SerializerMethodField(help_text="The latest run's state (see the run's state).")
    last_run = serializers.SerializerMethodField()
    owed_items = serializers.SerializerMethodField(help_text="Items still owed and items needing attention.")

    class Meta:
        model = SyncJob
        fields = [
            "id", "name", "source", "destination", "mode", "conflict_policy", "sync_calendars", "sync_contacts",
            "components", "create_collections", "collection_map", "sync_all", "keep_local", "strict", "enabled",
            "schedule", "status", "state", "last_run", "owed_items", "retry_at", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = ["created_at", "updated_at", "retry_at"]
        list_serializer_class = SyncJobListSerializer
        extra_kwargs = {"retry_at": {"help_text": "When the next follow-up run is due (items are owed)."}}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            # Only an account one may see can be a job's source or destination.
            for name in ("source", "destination"):
                self.fields[name].queryset = account_list_for(user=request.user)

    def _latest(self, job: SyncJob) -> SyncRun | None:
        cache = cast(dict, self.context).setdefault("latest_runs", {})
        if job.pk not in cache:
            cache.update(dict.fromkeys([job.pk]) | latest_runs([job]))
        return cache[job.pk]

    def get_status(self, job: SyncJob) -> str:
        latest = self._latest(job)
        return latest.status if latest else SyncRun.Status.PENDING

    def get_state(self, job: SyncJob) -> str:
        latest = self._latest(job)
        return latest.state if latest else SyncRun.Status.PENDING

    @extend_schema_field(serializers.DictField(child=serializers.IntegerField()))
    def get_owed_items(self, job: SyncJob) -> dict[str, int]:
        return owed_counts(job)

    @extend_schema_field(RunSerializer(allow_null=True))
    def get_last_run(self, job: SyncJob) -> dict | None:
        latest = self._latest(job)
        return RunSerializer(latest).data if latest else None

    def to_representation(self, job: SyncJob) -> dict:
        data = super().to_representation(job)
        data["schedule"] = schedule_description(job)
        return data


class StartSerializer(serializers.Serializer):
    confirm_empty = serializers.BooleanField(
        default=False, help_text="Allow deleting everything when a side that had items suddenly lists none."
    )


class LogSerializer(serializers.ModelSerializer):
    class Meta:
        model = SyncLog
        fields = ["id", "run", "created_at", "level", "message", "item"]
        read_only_fields = fields


class PlannedActionSerializer(serializers.Serializer):
    op = serializers.CharField()
    source_href = serializers.CharField()
    dest_href = serializers.CharField()
    reason = serializers.CharField()


class PairPlanSerializer(serializers.Serializer):
    source = serializers.CharField()
    destination = serializers.CharField()
    kind = serializers.CharField()
    counts = serializers.DictField(child=serializers.IntegerField())
    would_create = serializers.ListField(child=serializers.CharField())
    actions = PlannedActionSerializer(many=True, help_text="At most 500 per collection.")


class ConflictSerializer(serializers.ModelSerializer):
    class Meta:
        model = Conflict
        fields = [
            "id", "job", "run", "uid", "reason", "source_href", "source_data", "dest_href", "dest_data",
            "created_at", "resolution", "resolved_by", "resolved_at",
        ]  # fmt: skip
        read_only_fields = fields


class OwedItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = OwedItem
        fields = [
            "id", "job", "source_collection", "href", "dest_href", "uid", "summary", "operation", "state", "reason",
            "status", "attempts", "first_failed_at", "last_failed_at", "run",
        ]  # fmt: skip
        read_only_fields = fields


class RunReportItemSerializer(serializers.Serializer):
    collection = serializers.CharField()
    href = serializers.CharField()
    dest_href = serializers.CharField()
    uid = serializers.CharField()
    summary = serializers.CharField()
    operation = serializers.CharField()
    state = serializers.CharField()
    reason = serializers.CharField()
    status = serializers.IntegerField(allow_null=True)
    attempts = serializers.IntegerField(allow_null=True)
    first_failed_at = serializers.CharField()
    last_failed_at = serializers.CharField()


class RunReportSerializer(serializers.Serializer):
    run = serializers.IntegerField()
    job = serializers.IntegerField()
    status = serializers.CharField()
    state = serializers.CharField()
    clean = serializers.BooleanField()
    trigger = serializers.CharField()
    started_at = serializers.CharField(allow_null=True)
    finished_at = serializers.CharField(allow_null=True)
    error = serializers.CharField()
    counters = serializers.DictField(child=serializers.IntegerField())
    owed = serializers.IntegerField()
    needs_attention = serializers.IntegerField()
    collections = serializers.ListField(child=serializers.DictField(), help_text="Counters per collection.")
    items = RunReportItemSerializer(many=True, help_text="Every item the run could not apply.")
    notes = serializers.ListField(child=serializers.DictField(), help_text="Repairs and skips, per item.")


class ResolveSerializer(serializers.Serializer):
    resolution = serializers.ChoiceField(choices=Conflict.Resolution.choices)


class WorkerStatusSerializer(serializers.Serializer):
    workers = serializers.ListField(child=serializers.DictField())
    beat = serializers.DictField(allow_null=True)
    runs = serializers.DictField(child=serializers.IntegerField(), help_text="Runs per active status.")
