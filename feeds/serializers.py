from __future__ import annotations

from urllib.parse import urlencode

from django.apps import apps
from rest_framework import serializers

from accounts.models import Account
from feeds.models import IcsFeed


def ics_feed_url(feed: IcsFeed, request=None) -> str:
    """The subscription URL, with the token for a private feed (the owner needs to copy it)."""
    location = f"/ics/{feed.path}.ics" + (f"?{urlencode({'token': feed.token})}" if feed.token else "")
    return request.build_absolute_uri(location) if request is not None else location


class IcsFeedSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    token = serializers.CharField(write_only=True, required=False, allow_blank=True)
    has_token = serializers.SerializerMethodField()
    account = serializers.PrimaryKeyRelatedField(queryset=Account.objects.all(), required=False, allow_null=True)
    # A JSONField would take a bare string and store it; the feed would then match no calendar and
    # be served empty, so anything but a list of URLs is refused here.
    calendars = serializers.ListField(
        child=serializers.CharField(max_length=1000),
        required=False,
        allow_empty=True,
        max_length=500,
        error_messages={"not_a_list": 'Expected a list of calendar URLs, e.g. ["https://dav.example.org/cal/"].'},
        help_text="Calendar URLs to publish; empty: all of them.",
    )

    class Meta:
        model = IcsFeed
        fields = [
            "id", "name", "path", "url", "source_type", "account", "calendars", "source_ref", "include_todos",
            "sync_all", "token", "has_token", "interval_minutes", "last_synced_at", "last_error", "event_count",
        ]  # fmt: skip
        read_only_fields = ["last_synced_at", "last_error", "event_count"]
        # Uniqueness is checked by the service's full_clean, with the same message.
        extra_kwargs = {"path": {"validators": []}}

    def get_url(self, feed: IcsFeed) -> str:
        return ics_feed_url(feed, self.context.get("request"))

    def get_has_token(self, feed: IcsFeed) -> bool:
        return bool(feed.token)

    def validate_account(self, account: Account | None) -> Account | None:
        user = self.context["request"].user
        if account is not None and account.owner_id != user.pk and not user.is_staff:
            raise serializers.ValidationError("No such account.")
        if account is not None and account.kind != "caldav":
            raise serializers.ValidationError("A feed publishes a CalDAV account's calendars.")
        return account

    def validate(self, attrs: dict) -> dict:
        instance: IcsFeed | None = self.instance
        source_type = attrs.get("source_type", instance.source_type if instance else IcsFeed.SourceType.CALDAV)
        if source_type == IcsFeed.SourceType.APPOINTMENTS:
            # Artists belong to the studio, not to one user, and their appointments carry clients'
            # contact details: only staff publish them.
            if not self.context["request"].user.is_staff:
                raise serializers.ValidationError({"source_type": "Only staff can publish appointments."})
            ref = str(attrs.get("source_ref", instance.source_ref if instance else "")).strip()
            if not (ref.isascii() and ref.isdigit() and len(ref) <= 18) or not apps.is_installed("booking"):
                raise serializers.ValidationError({"source_ref": "The artist's id is required."})
            if not apps.get_model("booking", "Artist").objects.filter(pk=int(ref)).exists():
                raise serializers.ValidationError({"source_ref": f"No artist with id {ref}."})
            attrs["source_ref"] = ref
        return attrs


class IcsFeedStatusSerializer(serializers.Serializer):
    last_synced_at = serializers.DateTimeField(allow_null=True)
    last_error = serializers.CharField()
    event_count = serializers.IntegerField()
    url = serializers.CharField()
