"""Time phrases for the console: one unit ("3 days ago", "in 8 hours"), which reads faster in a table
than Django's two ("3 days, 1 hour")."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils.timesince import timesince, timeuntil

register = template.Library()


@register.filter
def ago(value: datetime | None) -> str:
    return f"{timesince(value, depth=1)} ago" if value else ""


@register.filter
def until(value: datetime | None) -> str:
    return f"in {timeuntil(value, depth=1)}" if value else ""
