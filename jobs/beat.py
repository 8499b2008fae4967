from django_celery_beat.schedulers import DatabaseScheduler


class HeartbeatScheduler(DatabaseScheduler):
    """Placeholder: records beat freshness (filled in with the health checks)."""
