"""Heartbeat and AuditEvent now belong to ops (calsync/ops/migrations/0001_initial.py): removed
from jobs' state only; their tables stay where they are."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("jobs", "0006_timesheets_move_to_their_app"),
        ("ops", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="Heartbeat"),
                migrations.DeleteModel(name="AuditEvent"),
            ],
        ),
    ]
