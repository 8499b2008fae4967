from __future__ import annotations

from urllib.parse import urlencode

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

    # Which account and which source a user may publish are the service's rules
    # (``feeds.services.ics_feed_check``), shared with the admin.


class IcsFeedStatusSerializer(serializers.Serializer):
    last_synced_at = serializers.DateTimeField(allow_null=True)
    last_error = serializers.CharField()
    event_count = serializers.IntegerField()
    url = serializers.CharField()
