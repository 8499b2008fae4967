"""Writes that start outside a client: app passwords and a new user's first calendars."""

from __future__ import annotations

from django.db import transaction

from feeds.dav.auth import new_app_password
from feeds.dav.models import AppPassword, Calendar

DEFAULT_CALENDARS = (
    ("calendar", "Calendar", ["VEVENT"]),
    ("tasks", "Tasks", ["VTODO"]),  # a separate collection, so Apple clients put tasks in Reminders
)


@transaction.atomic
def app_password_create(*, user, name: str) -> tuple[AppPassword, str]:
    """A device's password, shown once; a user's first device also gets a calendar and a task list."""
    row, plain = new_app_password(user=user, name=name)
    if not Calendar.objects.filter(owner=user).exists():
        for slug, display_name, components in DEFAULT_CALENDARS:
            Calendar.objects.create(owner=user, slug=slug, display_name=display_name, components=components)
    return row, plain
