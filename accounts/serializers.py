"""API shapes for accounts and collections. Validation of input only; writes go through services."""

from __future__ import annotations

from rest_framework import serializers

from accounts.connectors import kind_choices
from accounts.models import Account, Collection

PASSWORD_MAX_LENGTH = 1024


class AccountSerializer(serializers.ModelSerializer):
    # Write-only in every direction: never rendered, not even masked, so nothing can leak it back
    # (Paperless' "*** means unchanged" convention is what this avoids).
    password = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        max_length=PASSWORD_MAX_LENGTH,
        style={"input_type": "password"},
        help_text="Password or API token, write-only. Omit it to keep the stored one; an empty string clears it.",
    )
    has_password = serializers.SerializerMethodField(help_text="Whether a password or token is stored.")
    owner = serializers.PrimaryKeyRelatedField(read_only=True)
    owner_username = serializers.CharField(source="owner.username", read_only=True)

    class Meta:
        model = Account
        fields = [
            "id",
            "name",
            "kind",
            "url",
            "username",
            "password",
            "has_password",
            "principal_url",
            "verify_tls",
            "owner",
            "owner_username",
            "created_at",
            "updated_at",
            "last_checked_at",
            "last_check_ok",
            "last_check_message",
        ]
        read_only_fields = ["created_at", "updated_at", "last_checked_at", "last_check_ok", "last_check_message"]

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        # Built per instance so a kind registered after import (a plugin, a test) is accepted.
        choices = kind_choices()
        valid = ", ".join(kind for kind, _label in choices)
        fields["kind"] = serializers.ChoiceField(
            choices=choices,
            error_messages={"invalid_choice": f'"{{input}}" is not a valid kind. Valid kinds: {valid}.'},
        )
        return fields

    def get_has_password(self, account: Account) -> bool:
        return bool(account.password)


class CheckResultSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    message = serializers.CharField(help_text="Human-readable diagnosis.")
    checked_at = serializers.DateTimeField()
    principal_url = serializers.CharField(allow_blank=True)
    collections = serializers.IntegerField(help_text="Collections found during the check, when the server says.")


class CollectionSerializer(serializers.ModelSerializer):
    components = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = Collection
        fields = [
            "id",
            "url",
            "kind",
            "display_name",
            "description",
            "color",
            "components",
            "item_count",
            "ctag",
            "sync_token",
            "discovered_at",
            "updated_at",
        ]
        read_only_fields = fields


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
