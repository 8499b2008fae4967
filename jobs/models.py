from django.db import models


class Heartbeat(models.Model):
    """Last sign of life of a long-running process kind ("worker", "beat").

    Written every CALSYNC_HEARTBEAT_SECONDS by a worker bootstep and by the beat scheduler, read
    by /api/health/detailed. One row per process name, so the table never grows.
    """

    name = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=20)
    seen_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.kind} {self.name} @ {self.seen_at:%Y-%m-%d %H:%M:%S}"
