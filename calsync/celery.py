import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "calsync.settings")

app = Celery("calsync")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.steps["worker"].add("calsync.ops.heartbeats:HeartbeatStep")
# Connects the signal handlers that drop a message whose worker died on it too often.
import calsync.deliveries  # noqa: E402, F401
