"""What the CalDAV server stores: app passwords, user calendars with their objects, a change log.

Objects keep the bytes the client sent, unchanged, so a strong ETag can be promised. Every write to
a calendar takes the next value of its ``seq`` under a row lock and records it in ``Change`` (one row
per object name: the newest thing that happened to it, a tombstone when it was deleted). The sync
token is ``seq``; a client's changes since token ``t`` are the ``Change`` rows above ``t``.
Artists' appointment calendars are not stored here: ``backends.appointments`` renders them; a user
sees one when an ``ArtistGrant`` says so.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from booking.models import Artist

COMPONENT_CHOICES = [("VEVENT", "Events"), ("VTODO", "Tasks"), ("VJOURNAL", "Journal")]


def default_components() -> list[str]:
    return ["VEVENT"]


class AppPassword(models.Model):
    """One device's password for the CalDAV server; revoking it locks out that device only."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="dav_app_passwords")
    name = models.CharField(max_length=100, help_text="Which device uses it, e.g. Anna's iPhone.")
    lookup = models.CharField(max_length=12, unique=True, editable=False)
    password_hash = models.CharField(max_length=200, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "app password"
        ordering = ["user", "name"]

    def __str__(self) -> str:
        return f"{self.user} - {self.name}"


class Calendar(models.Model):
    """A calendar collection a user created (from a client with MKCALENDAR, or in the admin)."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="dav_calendars")
    slug = models.CharField(max_length=200, help_text="The last segment of the calendar's URL.")
    display_name = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True)
    color = models.CharField(max_length=32, blank=True, help_text="#RRGGBB, #RRGGBBAA or a colour name")
    order = models.IntegerField(default=0)
    time_zone = models.TextField(blank=True, help_text="A VTIMEZONE (calendar-timezone property).")
    components = models.JSONField(default=default_components)
    seq = models.BigIntegerField(default=0, editable=False, help_text="Bumped by every change; the sync token.")
    size = models.BigIntegerField(default=0, editable=False, help_text="Bytes of all objects, for the quota.")
    dead_properties = models.JSONField(default=dict, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["owner", "order", "slug"]
        constraints = [models.UniqueConstraint(fields=["owner", "slug"], name="dav_calendar_unique_slug")]

    def __str__(self) -> str:
        return f"{self.owner}/{self.slug}"


class CalendarObject(models.Model):
    calendar = models.ForeignKey(Calendar, on_delete=models.CASCADE, related_name="members")
    name = models.CharField(max_length=255)
    uid = models.CharField(max_length=1000)
    etag = models.CharField(max_length=64)
    component = models.CharField(max_length=10)
    # The span of all instances, for narrowing time-range queries before parsing; end None = unbounded.
    first_start = models.DateTimeField(null=True)
    last_end = models.DateTimeField(null=True)
    data = models.BinaryField()
    size = models.IntegerField()
    modified_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["calendar", "name"], name="dav_object_unique_name"),
            models.UniqueConstraint(fields=["calendar", "uid"], name="dav_object_unique_uid"),
        ]

    def __str__(self) -> str:
        return f"{self.calendar}/{self.name}"


class Change(models.Model):
    calendar = models.ForeignKey(Calendar, on_delete=models.CASCADE, related_name="changes")
    name = models.CharField(max_length=255)
    seq = models.BigIntegerField()
    deleted = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["calendar", "name"], name="dav_change_unique_name")]
        indexes = [models.Index(fields=["calendar", "seq"], name="dav_change_seq")]

    def __str__(self) -> str:
        return f"{self.calendar}/{self.name} @{self.seq}{' (deleted)' if self.deleted else ''}"


class ArtistGrant(models.Model):
    """Lets a user see an artist's appointments as a calendar, read-only or read-write."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="dav_artist_grants")
    artist = models.ForeignKey(Artist, on_delete=models.CASCADE, related_name="dav_grants")
    can_write = models.BooleanField(default=False, help_text="Moving or deleting an event moves or cancels it.")
    # How this user's clients show the calendar (PROPPATCH lands here, not on the artist).
    display_name = models.CharField(max_length=200, blank=True)
    color = models.CharField(max_length=32, blank=True)
    order = models.IntegerField(default=0)

    class Meta:
        verbose_name = "artist calendar grant"
        constraints = [models.UniqueConstraint(fields=["user", "artist"], name="dav_grant_unique")]

    def __str__(self) -> str:
        return f"{self.user} → {self.artist} ({'read-write' if self.can_write else 'read'})"


class AppointmentTombstone(models.Model):
    """An appointment that was erased (not cancelled), so clients learn it is gone."""

    artist = models.ForeignKey(Artist, on_delete=models.CASCADE, related_name="+")
    uid = models.CharField(max_length=200)
    deleted_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["artist", "deleted_at"], name="dav_tombstone_artist")]
        constraints = [models.UniqueConstraint(fields=["artist", "uid"], name="dav_tombstone_unique")]

    def __str__(self) -> str:
        return f"{self.artist}: {self.uid} erased"
