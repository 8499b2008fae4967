from __future__ import annotations

from django.conf import settings
from django.core.validators import URLValidator
from django.db import models
from fernet_fields import EncryptedTextField

from accounts.connectors import kind_choices
from accounts.connectors.base import AccountConfig
from accounts.connectors.profile import ServerProfile
from calsync.lib.reach import network_policy

# webcal:// is how calendar apps link ICS feeds; the connector rewrites it to https.
validate_server_url = URLValidator(schemes=["http", "https", "webcal"])


class Account(models.Model):
    """A remote system calsync talks to, with its credentials encrypted at rest."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="accounts")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=20, choices=kind_choices)
    url = models.CharField("server URL", max_length=500, validators=[validate_server_url])
    username = models.CharField(max_length=200, blank=True)
    # Password or API token. Fernet-encrypted with settings.FERNET_KEYS (newest first); the
    # column holds ciphertext only. Rotate with `manage.py rotate_keys`.
    password = EncryptedTextField("password or token", blank=True)
    principal_url = models.CharField(
        "principal URL",
        max_length=500,
        blank=True,
        validators=[validate_server_url],
        help_text="Discovered from the server URL when empty.",
    )
    verify_tls = models.BooleanField("verify TLS certificates", default=True)
    authorize_as = models.CharField(
        "act for user",
        max_length=200,
        blank=True,
        help_text="With an admin login: the user it acts for, sent as Authorize-As to this server only "
        "(Cyrus proxy authorisation; the admin must be in proxyservers).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    last_check_ok = models.BooleanField(null=True, blank=True)
    last_check_message = models.TextField(blank=True)
    # What the server was seen to do at the last successful DAV connection test
    # (accounts.connectors.profile.ServerProfile.as_dict()); empty when never probed.
    server_profile = models.JSONField(
        "server profile", default=dict, blank=True, editable=False, help_text="Probed at the last connection test."
    )

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="account_unique_name_per_owner")]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"

    def connector_config(self) -> AccountConfig:
        return AccountConfig(
            kind=self.kind,
            url=self.url,
            username=self.username,
            password=self.password,
            principal_url=self.principal_url,
            verify_tls=self.verify_tls,
            authorize_as=self.authorize_as,
            network=network_policy(staff=self.owner.is_staff),
            profile=ServerProfile.from_dict(self.server_profile) if self.server_profile else None,
        )


class Collection(models.Model):
    """A calendar, task list or address book discovered on an account."""

    class Kind(models.TextChoices):
        CALENDAR = "calendar", "Calendar"
        ADDRESSBOOK = "addressbook", "Address book"
        FEED = "feed", "Feed"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="collections")
    url = models.CharField("URL", max_length=1000)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    display_name = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True)
    color = models.CharField(max_length=20, blank=True)
    components = models.JSONField(default=list, blank=True, help_text="Supported components, e.g. VEVENT, VTODO.")
    ctag = models.CharField(max_length=200, blank=True)
    sync_token = models.CharField(max_length=500, blank=True)
    item_count = models.PositiveIntegerField(
        "items", null=True, blank=True, help_text="Items (events, tasks, contacts) found at the last discovery."
    )
    discovered_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["account", "display_name", "url"]
        constraints = [models.UniqueConstraint(fields=["account", "url"], name="collection_unique_url_per_account")]

    def __str__(self) -> str:
        return self.display_name or self.url
