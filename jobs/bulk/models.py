"""A bulk migration: one source server, one destination server, its users, and their jobs."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from fernet_fields import EncryptedTextField

from accounts.models import validate_server_url
from jobs.models import SyncJob, default_components


class BulkMigration(models.Model):
    """Moves every user's calendars, task lists and address books from one server to another.

    Each user becomes two accounts (credentials encrypted like every account's) and one sync job
    with the options below. A side with an admin login acts for its users: their accounts use the
    admin's credentials and reach the user's own principal through ``*_principal_template``
    (``{user}`` is replaced by the user name), as SOGo's superusers may; with ``*_authorize_as``
    they also send ``Authorize-As: <user>``, as Cyrus' proxy authorisation needs.
    """

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="bulk_migrations")
    name = models.CharField(max_length=60)
    source_url = models.CharField("source server URL", max_length=500, validators=[validate_server_url])
    source_verify_tls = models.BooleanField("verify the source's TLS certificate", default=True)
    source_admin_username = models.CharField(max_length=200, blank=True)
    source_admin_password = EncryptedTextField(blank=True)
    source_principal_template = models.CharField(
        max_length=500, blank=True, help_text="With an admin login: the user's principal URL, {user} for the name."
    )
    source_authorize_as = models.BooleanField(
        "act for users by proxy authorisation",
        default=False,
        help_text="Cyrus: the admin login sends Authorize-As: <user> (the admin must be in proxyservers).",
    )
    destination_url = models.CharField("destination server URL", max_length=500, validators=[validate_server_url])
    destination_verify_tls = models.BooleanField("verify the destination's TLS certificate", default=True)
    destination_admin_username = models.CharField(max_length=200, blank=True)
    destination_admin_password = EncryptedTextField(blank=True)
    destination_principal_template = models.CharField(max_length=500, blank=True)
    destination_authorize_as = models.BooleanField("act for users by proxy authorisation", default=False)
    # The options of every job it creates (SyncJob's own fields and choices).
    mode = models.CharField(max_length=10, choices=SyncJob.Mode.choices, default=SyncJob.Mode.COPY)
    conflict_policy = models.CharField(
        max_length=12, choices=SyncJob.ConflictPolicy.choices, default=SyncJob.ConflictPolicy.SOURCE
    )
    sync_calendars = models.BooleanField("calendars and task lists", default=True)
    sync_contacts = models.BooleanField("address books", default=True)
    components = models.JSONField(default=default_components)
    create_collections = models.BooleanField("create missing collections", default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    # When the last dry run was queued: users planned since then count as done in its progress.
    dry_run_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="bulkmigration_unique_name_per_owner")]

    def __str__(self) -> str:
        return self.name

    def acts_for_users(self, side: str) -> bool:
        return bool(getattr(self, f"{side}_admin_username"))


class MigrationUser(models.Model):
    """One row of the uploaded list: the user's two accounts and the job between them."""

    migration = models.ForeignKey(BulkMigration, on_delete=models.CASCADE, related_name="users")
    row = models.PositiveIntegerField(help_text="Line of the uploaded file it came from.")
    source_username = models.CharField(max_length=200)
    destination_username = models.CharField(max_length=200)
    # Deleting the user's job takes the user out of the migration; its accounts stay (the job
    # protects them while it exists, so these never block a deletion themselves).
    source_account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")
    destination_account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")
    job = models.OneToOneField(SyncJob, on_delete=models.CASCADE, related_name="bulk_user")
    # The last dry run's plan totals ({"create_dest": 12, ...}) or the reason it could not plan.
    plan = models.JSONField(default=dict, blank=True)
    planned_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["migration", "id"]
        constraints = [
            models.UniqueConstraint(fields=["migration", "source_username"], name="migrationuser_unique_source"),
            models.UniqueConstraint(
                fields=["migration", "destination_username"], name="migrationuser_unique_destination"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source_username} → {self.destination_username}"
