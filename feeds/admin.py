from __future__ import annotations

from copy import copy
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.forms.models import construct_instance
from django.http import HttpRequest
from django.utils.html import format_html

from feeds.models import IcsFeed
from feeds.selectors import ics_feed_list_for
from feeds.serializers import ics_feed_url
from feeds.services import ics_feed_check, ics_feed_save, ics_feed_sync_request


class IcsFeedForm(forms.ModelForm):
    user: Any = None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        try:
            ics_feed_check(feed=construct_instance(self, copy(self.instance)), user=self.user)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                self.add_error(field if field in self.fields else None, errors)
        return cleaned


@admin.register(IcsFeed)
class IcsFeedAdmin(admin.ModelAdmin):
    form = IcsFeedForm
    list_display = ("path", "name", "source_type", "owner", "last_synced_at", "event_count", "short_error")
    list_filter = ("source_type",)
    search_fields = ("path", "name")
    actions = ["sync_now"]
    readonly_fields = ("public_url", "last_synced_at", "last_error", "event_count", "etag", "last_modified")
    fields = (
        "public_url", "owner", "name", "path", "source_type", "account", "calendars", "source_ref",
        "include_todos", "sync_all", "token", "interval_minutes",
        "last_synced_at", "last_error", "event_count", "etag", "last_modified",
    )  # fmt: skip
    request: HttpRequest | None = None

    def get_form(self, request, obj=None, **kwargs):
        self.request = request  # public_url needs the host the admin is served under
        form = super().get_form(request, obj, **kwargs)
        # The service's rules depend on who asks; the form checks them (a 200 with errors).
        return type(form.__name__, (form,), {"user": request.user})

    def get_queryset(self, request: HttpRequest) -> QuerySet[IcsFeed]:
        return ics_feed_list_for(user=request.user)

    def save_model(self, request: HttpRequest, obj: IcsFeed, form, change: bool) -> None:
        ics_feed_save(feed=obj, user=request.user)  # the API's rules (path, appointments token) and a render

    @admin.display(description="public URL")
    def public_url(self, feed: IcsFeed) -> str:
        if not feed.pk:
            return "(after saving)"
        url = ics_feed_url(feed, self.request)
        return format_html(
            '<input type="text" readonly value="{}" size="80" id="ics-feed-url" onclick="this.select()"> '
            '<button type="button" class="button" '
            "onclick=\"navigator.clipboard.writeText(document.getElementById('ics-feed-url').value);"
            "this.textContent='Copied'\">Copy</button>",
            url,
        )

    @admin.display(description="last error")
    def short_error(self, feed: IcsFeed) -> str:
        return feed.last_error[:80]

    @admin.action(description="Sync now (re-render the selected feeds)")
    def sync_now(self, request: HttpRequest, queryset: QuerySet[IcsFeed]) -> None:
        for feed in queryset:
            ics_feed_sync_request(feed=feed)
        messages.success(request, f"{queryset.count()} feed(s) queued for rendering.")
