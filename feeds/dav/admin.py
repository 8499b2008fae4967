"""Admin: app passwords (shown once, revocable), users' calendars, artist calendar grants."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from feeds.dav.models import AppPassword, ArtistGrant, Calendar
from feeds.dav.services import app_password_create


@admin.register(AppPassword)
class AppPasswordAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "user__username"]
    fields = ["user", "name", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def get_readonly_fields(self, request: HttpRequest, obj: AppPassword | None = None) -> list[str]:
        return [*self.readonly_fields, "user"] if obj else self.readonly_fields

    def save_model(self, request: HttpRequest, obj: AppPassword, form, change: bool) -> None:
        if change:
            obj.save(update_fields=["name"])
            return
        row, plain = app_password_create(user=obj.user, name=obj.name)
        obj.pk, obj.lookup, obj.password_hash = row.pk, row.lookup, row.password_hash
        self.message_user(
            request,
            f"App password for {row.user.get_username()} ({row.name}): {plain} — copy it now, it is not shown again. "
            f"Server address: {request.build_absolute_uri('/dav/')}",
            messages.SUCCESS,
        )

    @admin.action(description="Revoke (the device is signed out at its next request)")
    def revoke(self, request: HttpRequest, queryset: QuerySet[AppPassword]) -> None:
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"{count} app passwords revoked.")


@admin.register(Calendar)
class CalendarAdmin(admin.ModelAdmin):
    list_display = ["slug", "display_name", "owner", "components", "seq"]
    search_fields = ["slug", "display_name", "owner__username"]
    list_filter = ["owner"]
    readonly_fields = ["seq", "size", "created_at"]
    fields = [
        "owner",
        "slug",
        "display_name",
        "description",
        "color",
        "order",
        "components",
        "time_zone",
        "seq",
        "size",
        "created_at",
    ]


@admin.register(ArtistGrant)
class ArtistGrantAdmin(admin.ModelAdmin):
    list_display = ["user", "artist", "can_write", "display_name", "color"]
    list_filter = ["can_write", "artist"]
    search_fields = ["user__username", "artist__name"]
