"""The heartbeats and the audit trail in the admin: to look at, never to edit."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.utils import timezone

from calsync.ops.models import AuditEvent, Heartbeat


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


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "actor_label", "action", "object_type", "object_id", "summary"]
    list_filter = ["action", "object_type"]
    search_fields = ["object_id", "summary", "actor_label"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False
