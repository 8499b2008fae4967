"""The admin site branded calsync, its index grouped by what people do rather than by Django app.

A person running calsync thinks "I want to migrate a server" or "I want to see the bookings", not
"the jobs app". ``SECTIONS`` is the one table that says where each model shows up; a model it does
not name lands in its app's section (``APP_SECTIONS``) or, failing that, in System, so nothing
registered ever disappears from the index.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse

# (title, anchor, models in the order people need them): ``app_label.ModelName``.
SECTIONS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "Migrate & sync",
        "sync",
        (
            "jobs.SyncJob",
            "jobs.SyncRun",
            "jobs.OwedItem",
            "jobs.Conflict",
            "accounts.Account",
            "accounts.Collection",
        ),
    ),
    ("ICS feeds", "feeds", ("feeds.IcsFeed",)),
    ("Booking", "booking", ("booking.Appointment", "booking.Artist", "booking.BusyBlock", "booking.CalendarSyncLog")),
    ("CalDAV server", "dav", ("dav.Calendar", "dav.AppPassword", "dav.ArtistGrant")),
    (
        "Time sheets",
        "timesheets",
        (
            "timesheets.TimesheetSettings",
            "timesheets.ActivityMapping",
            "timesheets.ProjectMapping",
            "timesheets.AgentMapping",
            "timesheets.WebhookEndpoint",
            "timesheets.PendingTicket",
        ),
    ),
    (
        "System",
        "system",
        (
            "auth.User",
            "auth.Group",
            "knox.AuthToken",
            "axes.AccessAttempt",
            "axes.AccessFailureLog",
            "axes.AccessLog",
            "django_celery_beat.PeriodicTask",
            "django_celery_beat.IntervalSchedule",
            "django_celery_beat.CrontabSchedule",
            "ops.Heartbeat",
            "ops.AuditEvent",
        ),
    ),
)
# Where a model that SECTIONS does not name goes, by app label.
APP_SECTIONS = {"jobs": "sync", "accounts": "sync", "feeds": "feeds", "booking": "booking", "dav": "dav"}
FALLBACK_SECTION = "system"


def section_of(app_label: str, object_name: str) -> str:
    key = f"{app_label}.{object_name}"
    for _title, anchor, models in SECTIONS:
        if key in models:
            return anchor
    return APP_SECTIONS.get(app_label, FALLBACK_SECTION)


def _position(app_label: str, object_name: str) -> int:
    key = f"{app_label}.{object_name}"
    for _title, _anchor, models in SECTIONS:
        if key in models:
            return models.index(key)
    return 1000  # unlisted models after the listed ones


class CalsyncAdminSite(admin.AdminSite):
    site_header = "calsync"
    site_title = "calsync"
    index_title = "Console"
    site_url = "/"  # "View site" opens the dashboard

    def get_app_list(self, request: HttpRequest, app_label: str | None = None) -> list[dict[str, Any]]:
        # An app's own page (/admin/jobs/) keeps Django's grouping; the index and the sidebar
        # show the sections.
        if app_label is not None:
            return super().get_app_list(request, app_label)
        index_url = reverse("admin:index", current_app=self.name)
        sections: dict[str, dict[str, Any]] = {
            anchor: {
                "name": title,
                "app_label": anchor,
                "app_url": f"{index_url}#{anchor}",
                "has_module_perms": True,
                "models": [],
            }
            for title, anchor, _models in SECTIONS
        }
        for app in super().get_app_list(request):
            for model in app["models"]:
                model["app_label"] = app["app_label"]
                sections[section_of(app["app_label"], model["object_name"])]["models"].append(model)
        for section in sections.values():
            section["models"].sort(key=lambda m: (_position(m["app_label"], m["object_name"]), m["name"]))
        return [section for section in sections.values() if section["models"]]
