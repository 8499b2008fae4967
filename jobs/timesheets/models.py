"""Zammad → Kimai time sheets: settings and mappings per job, webhook endpoints, waiting tickets.

The tables were created by the ``jobs`` app and keep their names (``db_table``): the models moved
to this app by a state-only migration, so an upgrade moves no row.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from fernet_fields import EncryptedTextField

from calsync.validators import validate_time_zone
from jobs.models import SyncJob


def _webhook_token() -> str:
    import secrets

    return secrets.token_urlsafe(24)


class TimesheetSettings(models.Model):
    """How a Zammad → Kimai job reconciles; one row per job, created with defaults when missing."""

    class UpdatePolicy(models.TextChoices):
        SOURCE = "source", "Zammad wins: update Kimai"
        MANUAL = "manual", "Manual: record a conflict"

    class OrphanPolicy(models.TextChoices):
        CONFLICT = "conflict", "Record a conflict"
        DELETE = "delete", "Delete the Kimai entry"

    job = models.OneToOneField(SyncJob, on_delete=models.CASCADE, related_name="timesheet_settings")
    update_policy = models.CharField(max_length=10, choices=UpdatePolicy.choices, default=UpdatePolicy.SOURCE)
    orphan_policy = models.CharField(max_length=10, choices=OrphanPolicy.choices, default=OrphanPolicy.CONFLICT)
    # Zammad's time_unit is a unitless number (the unit is only a label there).
    minutes_per_unit = models.DecimalField(max_digits=8, decimal_places=3, default=1)
    rounding_seconds = models.PositiveIntegerField(default=60, help_text="Kimai's rounding step.")
    lookback_days = models.PositiveIntegerField(default=60, help_text="Scheduled runs reconcile this many days.")
    create_missing_projects = models.BooleanField(
        default=False, help_text="Create a Kimai customer and project for an organisation without a mapping."
    )
    new_project_name = models.CharField(max_length=150, default="Support")

    class Meta:
        db_table = "jobs_timesheetsettings"  # created by the jobs app; kept so upgrades move no data
        verbose_name = "time sheet settings"
        verbose_name_plural = "time sheet settings"

    def __str__(self) -> str:
        return f"time sheet settings of {self.job}"


class ActivityMapping(models.Model):
    """Zammad time accounting type → Kimai activity. ``zammad_type_id`` empty: entries without a type."""

    job = models.ForeignKey(SyncJob, on_delete=models.CASCADE, related_name="activity_mappings")
    zammad_type_id = models.PositiveIntegerField(null=True, blank=True)
    zammad_type_name = models.CharField(max_length=250, blank=True)
    kimai_activity = models.PositiveIntegerField()

    class Meta:
        db_table = "jobs_activitymapping"  # created by the jobs app; kept so upgrades move no data
        constraints = [models.UniqueConstraint(fields=["job", "zammad_type_id"], name="activitymap_unique_type")]

    def __str__(self) -> str:
        return f"{self.zammad_type_name or self.zammad_type_id or '(no type)'} → activity {self.kimai_activity}"


class ProjectMapping(models.Model):
    """Zammad organisation (by name; empty: tickets without one) → Kimai customer and project."""

    job = models.ForeignKey(SyncJob, on_delete=models.CASCADE, related_name="project_mappings")
    organisation = models.CharField(max_length=250, blank=True)
    kimai_customer = models.PositiveIntegerField(null=True, blank=True)
    kimai_project = models.PositiveIntegerField()

    class Meta:
        db_table = "jobs_projectmapping"  # created by the jobs app; kept so upgrades move no data
        constraints = [models.UniqueConstraint(fields=["job", "organisation"], name="projectmap_unique_org")]

    def __str__(self) -> str:
        return f"{self.organisation or '(no organisation)'} → project {self.kimai_project}"


class AgentMapping(models.Model):
    """Zammad agent → Kimai user, with the agent's time zone (empty: the Kimai user's own)."""

    job = models.ForeignKey(SyncJob, on_delete=models.CASCADE, related_name="agent_mappings")
    zammad_user_id = models.PositiveIntegerField()
    email = models.EmailField(blank=True)
    kimai_user = models.PositiveIntegerField()
    timezone = models.CharField(max_length=64, blank=True, validators=[validate_time_zone])

    class Meta:
        db_table = "jobs_agentmapping"  # created by the jobs app; kept so upgrades move no data
        constraints = [models.UniqueConstraint(fields=["job", "zammad_user_id"], name="agentmap_unique_agent")]

    def __str__(self) -> str:
        return f"{self.email or self.zammad_user_id} → user {self.kimai_user}"


class WebhookEndpoint(models.Model):
    """``/api/webhooks/zammad/<token>``: the token names the job; the secret checks X-Hub-Signature."""

    job = models.ForeignKey(SyncJob, on_delete=models.CASCADE, related_name="webhook_endpoints")
    token = models.CharField(max_length=64, unique=True, default=_webhook_token)
    secret = EncryptedTextField("HMAC SHA1 signature token")
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "jobs_webhookendpoint"  # created by the jobs app; kept so upgrades move no data

    def __str__(self) -> str:
        return f"webhook of {self.job}"


class PendingTicket(models.Model):
    """A ticket a webhook asked to sync; the next webhook run syncs exactly these, then drops them."""

    job = models.ForeignKey(SyncJob, on_delete=models.CASCADE, related_name="pending_tickets")
    ticket_id = models.PositiveIntegerField()
    received_at = models.DateTimeField(default=timezone.now)
    deliveries = models.PositiveIntegerField(default=1)

    class Meta:
        db_table = "jobs_pendingticket"  # created by the jobs app; kept so upgrades move no data
        constraints = [models.UniqueConstraint(fields=["job", "ticket_id"], name="pendingticket_unique")]

    def __str__(self) -> str:
        return f"ticket {self.ticket_id} of {self.job}"
