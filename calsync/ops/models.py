"""The models of the ground floor: process heartbeats and the audit trail."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class Heartbeat(models.Model):
    """Last sign of life of a long-running process kind ("worker", "beat").

    Written every CALSYNC_HEARTBEAT_SECONDS by a worker bootstep and by the beat scheduler, read
    by /api/health/detailed. One row per process name, so the table never grows.
    """

    name = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=20)
    seen_at = models.DateTimeField()

    class Meta:
        db_table = "jobs_heartbeat"  # created by jobs before ops existed; kept, not copied

    def __str__(self) -> str:
        return f"{self.kind} {self.name} @ {self.seen_at:%Y-%m-%d %H:%M:%S}"


class AuditEvent(models.Model):
    """Who changed what and when: configuration, sync decisions, conflict resolutions, purges.

    ``before``/``after`` never hold secrets (they are replaced by a marker before saving).
    """

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=200, blank=True)
    action = models.CharField(max_length=40)
    object_type = models.CharField(max_length=100)
    object_id = models.CharField(max_length=200, blank=True)
    summary = models.TextField(blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        db_table = "jobs_auditevent"  # created by jobs before ops existed; kept, not copied
        indexes = [models.Index(fields=["object_type", "object_id"], name="jobs_audite_object__3f6bb0_idx")]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_label or 'system'} {self.action} {self.object_type}"
