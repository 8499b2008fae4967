from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.utils import timezone

from jobs.models import Heartbeat


@admin.register(Heartbeat)
class HeartbeatAdmin(admin.ModelAdmin):
    """Written by the worker bootstep and the beat scheduler; here only to look at, and to delete
    the row of a process that is gone for good."""

    list_display = ("name", "kind", "seen_at", "age")
    list_filter = ("kind",)
    ordering = ("kind", "name")

    @admin.display(description="seconds ago")
    def age(self, heartbeat: Heartbeat) -> int:
        return int((timezone.now() - heartbeat.seen_at).total_seconds())

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Heartbeat | None = None) -> bool:
        return False
