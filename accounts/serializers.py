"""API shapes for accounts and collections. Validation of input only; writes go through services."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.connectors import kind_choices
from accounts.connectors.profile import ServerProfile
from accounts.models import Account, Collection

PASSWORD_MAX_LENGTH = 1024


class ServerProfileSerializer(serializers.Serializer):
    """The shape of ``ServerProfile.as_dict()``, for the schema."""

    supports_sync_collection = serializers.BooleanField(allow_null=True)
    mixed_components = serializers.BooleanField(allow_null=True)
    honours_component_set = serializers.BooleanField(allow_null=True)
    etag_on_put = serializers.BooleanField(allow_null=True)
    etag_on_vcard_put = serializers.BooleanField(allow_null=True)
    ignores_if_none_match = serializers.BooleanField(allow_null=True)
    vcard4 = serializers.BooleanField(allow_null=True)
    vcard4_advertised = serializers.BooleanField(allow_null=True)
    probed_at = serializers.CharField()
    notes = serializers.ListField(child=serializers.CharField())


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
    server_profile = serializers.SerializerMethodField(
        help_text=(
            "What the server was seen to do at the last successful connection test of a CalDAV/CardDAV "
            "account (sync-collection, events and tasks in one calendar, component sets enforced, ETag on "
            "PUT, If-None-Match honoured, vCard 4.0 kept); null when never probed, a field null when not known."
        )
    )

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
            "server_profile",
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

    @extend_schema_field(ServerProfileSerializer(allow_null=True))
    def get_server_profile(self, account: Account) -> dict[str, Any] | None:
        profile = ServerProfile.from_dict(account.server_profile)
        return profile.as_dict() if profile.probed else None


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
