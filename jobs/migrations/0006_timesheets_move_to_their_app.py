"""The time-sheet models now belong to the ``timesheets`` app (``jobs/timesheets``).

State only: the tables stay as they are (the new app's models name them with ``db_table``), so
an upgrade moves no row. ``timesheets.0001`` takes them over first.
"""

from django.db import migrations

MOVED = ["TimesheetSettings", "ActivityMapping", "ProjectMapping", "AgentMapping", "WebhookEndpoint", "PendingTicket"]


class Migration(migrations.Migration):
    dependencies = [
        ("jobs", "0005_timesheet_settings_plural"),
        ("timesheets", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name) for name in MOVED],
            database_operations=[],
        )
    ]
