"""The owed-items ledger in the admin: what each job still owes, and what needs attention."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from jobs.followups import owed_items_retry
from jobs.models import OwedItem
from jobs.selectors import owed_item_list_for


@admin.register(OwedItem)
class OwedItemAdmin(admin.ModelAdmin):
    list_display = ("href", "uid", "summary", "job", "operation", "state", "attempts", "status", "last_failed_at")
    list_filter = ("state", "job", "operation")
    search_fields = ("href", "uid", "summary", "reason")
    list_select_related = ("job",)
    readonly_fields = [field.name for field in OwedItem._meta.fields]
    actions = ("retry_now",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[OwedItem]:
        return owed_item_list_for(user=request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: OwedItem | None = None) -> bool:
        return False

    @admin.action(description="Retry now (also items that need attention)")
    def retry_now(self, request: HttpRequest, items: QuerySet[OwedItem]) -> None:
        jobs = owed_items_retry(items=items)
        self.message_user(request, f"A follow-up run of {jobs} job(s) is due now.", messages.SUCCESS)
