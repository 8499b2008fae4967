"""API shapes of bulk migrations. Admin passwords are write-only; users' passwords never pass here."""

from __future__ import annotations

from rest_framework import serializers

from jobs.bulk.models import BulkMigration
from jobs.models import CALENDAR_COMPONENTS


class MigrationSerializer(serializers.ModelSerializer):
    source_admin_password = serializers.CharField(
        write_only=True, required=False, allow_blank=True, trim_whitespace=False, style={"input_type": "password"}
    )
    destination_admin_password = serializers.CharField(
        write_only=True, required=False, allow_blank=True, trim_whitespace=False, style={"input_type": "password"}
    )
    components = serializers.ListField(
        child=serializers.ChoiceField(choices=CALENDAR_COMPONENTS), required=False, allow_empty=False
    )
    users = serializers.IntegerField(source="user_count", read_only=True)

    class Meta:
        model = BulkMigration
        fields = [
            "id", "name", "source_url", "source_verify_tls", "source_admin_username", "source_admin_password",
            "source_principal_template", "destination_url", "destination_verify_tls", "destination_admin_username",
            "destination_admin_password", "destination_principal_template", "source_authorize_as",
            "destination_authorize_as", "mode", "conflict_policy",
            "sync_calendars", "sync_contacts", "components", "create_collections", "users", "created_at",
            "started_at",
        ]  # fmt: skip
        read_only_fields = ["created_at", "started_at"]


class UploadSerializer(serializers.Serializer):
    file = serializers.FileField(required=False, help_text="The user list as a CSV file (multipart upload).")
    csv = serializers.CharField(
        required=False, trim_whitespace=False, help_text="Or the user list's text in a JSON body."
    )

    def validate(self, attrs: dict) -> dict:
        if bool(attrs.get("file")) == bool(attrs.get("csv")):
            raise serializers.ValidationError(
                "Send the user list as `file` (multipart) or as `csv` (text), one of them."
            )
        return attrs


class MigrationScheduleSerializer(serializers.Serializer):
    interval_minutes = serializers.IntegerField(min_value=1, allow_null=True, required=False)
    crontab = serializers.CharField(allow_blank=True, required=False, default="")
