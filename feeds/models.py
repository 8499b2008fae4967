from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from fernet_fields import EncryptedTextField

# A feed's path is one or more URL-safe segments; "/ics/work" and "/ics/work.ics" both serve "work".
validate_feed_path = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9_.-]*(/[A-Za-z0-9][A-Za-z0-9_.-]*)*$",
    "Letters, digits, '-', '_', '.' and '/' between segments, e.g. 'studio/anna'.",
)


# A token is the only thing between a stranger and a private calendar (it is a URL parameter, so
# it is guessed, not brute-forced behind a login): at least 20 characters, about 120 bits when
# random. ``secrets.token_urlsafe(24)``, which calsync makes itself, has 32.
MIN_TOKEN_LENGTH = 20


class IcsFeed(models.Model):
    """A calendar published as a subscribable .ics URL, served from bytes rendered in advance."""

    class SourceType(models.TextChoices):
        CALDAV = "caldav", "CalDAV calendars"
        APPOINTMENTS = "appointments", "Appointments (booking)"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="ics_feeds")
    name = models.CharField(max_length=200, blank=True, help_text="Calendar name shown by subscribers.")
    path = models.CharField(max_length=200, unique=True, validators=[validate_feed_path])
    source_type = models.CharField(max_length=20, choices=SourceType.choices, default=SourceType.CALDAV)
    account = models.ForeignKey(
        "accounts.Account", null=True, blank=True, on_delete=models.CASCADE, related_name="ics_feeds"
    )
    calendars = models.JSONField(default=list, blank=True, help_text="Calendar URLs to publish; empty: all of them.")
    source_ref = models.CharField(max_length=200, blank=True, help_text="e.g. the artist id for appointments.")
    include_todos = models.BooleanField("include tasks", default=False)
    sync_all = models.BooleanField("include past events", default=True)
    # Encrypted, not hashed: the owner must be able to copy the private URL again later, and a
    # Fernet ciphertext keeps it unreadable in a database dump all the same.
    token = EncryptedTextField(blank=True, help_text="Optional secret: subscribers then need ?token=…")
    interval_minutes = models.PositiveIntegerField(default=15)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    event_count = models.PositiveIntegerField(default=0)
    data = models.BinaryField(default=b"", editable=False)
    data_gzip = models.BinaryField(default=b"", editable=False)
    etag = models.CharField(max_length=100, blank=True, editable=False)
    last_modified = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["path"]
        verbose_name = "ICS feed"
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(source_type="caldav") | models.Q(account__isnull=False),
                name="icsfeed_caldav_needs_account",
            )
        ]

    def __str__(self) -> str:
        return f"/ics/{self.path}"

    def clean(self) -> None:
        # In clean(), not a field validator: the admin form, the API and the services all run
        # full_clean, and the encrypted field's migration state stays as it is.
        if self.token and len(self.token) < MIN_TOKEN_LENGTH:
            message = f"A feed token has at least {MIN_TOKEN_LENGTH} characters (or leave it empty: a public feed)."
            raise ValidationError({"token": message})
