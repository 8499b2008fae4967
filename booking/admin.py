"""Admin: artists with calendars and working hours, appointments with confirm/cancel, sync logs."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from booking.models import Appointment, Artist, ArtistCalendar, BusyBlock, CalendarSyncLog
from booking.selectors import appointment_list_for
from booking.services import (
    UPDATABLE,
    SlotUnavailable,
    appointment_cancel,
    appointment_confirm,
    appointment_push_again,
    appointment_update,
    artist_calendar_check,
    busy_pull_artist,
)


class ArtistCalendarInline(admin.TabularInline):
    model = ArtistCalendar
    extra = 0
    fields = ["account", "calendar_url", "blocks_time", "receives_appointments", "last_pulled_at", "last_pull_ok"]
    readonly_fields = ["last_pulled_at", "last_pull_ok"]


@admin.register(Artist)
class ArtistAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "time_zone", "active", "buffer_minutes", "min_notice_minutes"]
    list_filter = ["active"]
    search_fields = ["name", "slug", "email"]
    prepopulated_fields = {"slug": ("name",)}
    inlines = [ArtistCalendarInline]
    actions = ["pull_now", "test_calendars"]
    fieldsets = [
        (None, {"fields": ["name", "slug", "email", "time_zone", "active"]}),
        (
            "Booking rules",
            {
                "fields": ["working_hours", "buffer_minutes", "min_notice_minutes", "slot_step_minutes"],
                "description": 'Working hours: {"0": [["10:00", "18:00"]], ...} with Monday = 0, local time.',
            },
        ),
    ]

    @admin.action(description="Pull busy time from their calendars now")
    def pull_now(self, request: HttpRequest, queryset: QuerySet[Artist]) -> None:
        results = [result for artist in queryset for result in busy_pull_artist(artist=artist)]
        failed = [r.message for r in results if not r.ok]
        self.message_user(request, f"{len(results) - len(failed)} calendars pulled, {len(failed)} failed.")
        for message in failed:
            self.message_user(request, message, messages.WARNING)

    @admin.action(description="Test the connection to their calendars")
    def test_calendars(self, request: HttpRequest, queryset: QuerySet[Artist]) -> None:
        for calendar in ArtistCalendar.objects.filter(artist__in=queryset).select_related("account", "artist"):
            result = artist_calendar_check(calendar=calendar)
            level = messages.SUCCESS if result.ok else messages.ERROR
            self.message_user(request, f"{calendar}: {result.message}", level)


class PushFilter(admin.SimpleListFilter):
    """Where each appointment's calendar push stands, the two that need a person first."""

    title = "calendar push"
    parameter_name = "push"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("attention", "needs attention"), ("owed", "owed (retried automatically)")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Appointment]) -> QuerySet[Appointment]:
        if self.value() == "attention":
            return queryset.filter(push_state__in=Appointment.NEEDS_ATTENTION)
        if self.value() == "owed":
            return queryset.filter(push_state=Appointment.PushState.QUEUED)
        return queryset


@admin.register(Appointment)
class AppointmentAdmin(admin.ModelAdmin):
    list_display = ["start", "end", "artist", "client_name", "status", "needs_review", "push_state", "push_attempts"]
    list_filter = ["status", "needs_review", PushFilter, "push_state", "artist"]
    search_fields = ["client_name", "client_email", "caldav_uid"]
    date_hierarchy = "start"
    readonly_fields = [
        "status",
        "needs_review",
        "calendar",
        "caldav_uid",
        "caldav_href",
        "caldav_etag",
        "push_state",
        "push_error",
        "push_attempts",
        "push_next_at",
        "created_at",
        "updated_at",
    ]
    actions = ["confirm", "cancel", "push_again"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Appointment]:
        return appointment_list_for(user=request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # bookings come through the booking page or the API, which check availability

    def save_model(self, request: HttpRequest, obj: Appointment, form, change: bool) -> None:
        changes = {name: form.cleaned_data[name] for name in form.changed_data if name in UPDATABLE}
        try:
            appointment_update(appointment=Appointment.objects.get(pk=obj.pk), **changes)
        except SlotUnavailable:
            self.message_user(request, "Not saved: that time overlaps another appointment.", messages.ERROR)

    @admin.action(description="Confirm the selected appointments")
    def confirm(self, request: HttpRequest, queryset: QuerySet[Appointment]) -> None:
        done = 0
        for appointment in queryset:
            try:
                appointment_confirm(appointment=appointment)
                done += 1
            except ValidationError as exc:
                self.message_user(request, f"{appointment}: {'; '.join(exc.messages)}", messages.WARNING)
        self.message_user(request, f"{done} confirmed; the calendar is updated in the background.")

    @admin.action(description="Push the selected appointments to the calendar again")
    def push_again(self, request: HttpRequest, queryset: QuerySet[Appointment]) -> None:
        for appointment in queryset:
            appointment_push_again(appointment=appointment)
        self.message_user(request, f"{queryset.count()} queued; the calendar is updated in the background.")

    @admin.action(description="Cancel the selected appointments")
    def cancel(self, request: HttpRequest, queryset: QuerySet[Appointment]) -> None:
        for appointment in queryset:
            appointment_cancel(appointment=appointment)
        self.message_user(request, f"{queryset.count()} cancelled; their events leave the calendar.")


@admin.register(BusyBlock)
class BusyBlockAdmin(admin.ModelAdmin):
    list_display = ["start", "end", "artist", "summary", "all_day", "href"]
    list_filter = ["artist", "all_day"]
    date_hierarchy = "start"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # pulled from the calendars, never typed in

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(CalendarSyncLog)
class CalendarSyncLogAdmin(admin.ModelAdmin):
    list_display = ["created_at", "direction", "action", "status", "calendar", "appointment", "items", "duration_ms"]
    list_filter = ["direction", "status", "action"]
    search_fields = ["message"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
