"""Time sheets become their own app: the models created by ``jobs.0003`` move here.

State only: their tables keep the names the jobs app gave them (``db_table``), so an existing
database moves no row and a fresh one gets the tables from ``jobs.0003`` as before.
"""

import calsync.validators
import django.db.models.deletion
import django.utils.timezone
import fernet_fields.fields
import jobs.timesheets.models
from django.db import migrations, models


MOVED_LABELS = ["TimesheetSettings", "ActivityMapping", "ProjectMapping", "AgentMapping", "WebhookEndpoint", "PendingTicket"]
MOVED = ["timesheetsettings", "activitymapping", "projectmapping", "agentmapping", "webhookendpoint", "pendingticket"]


def content_types_follow(apps, schema_editor):
    """Permissions granted on the models stay granted: their content types change app, not id."""
    content_types = apps.get_model("contenttypes", "ContentType")
    content_types.objects.filter(app_label="jobs", model__in=MOVED).update(app_label="timesheets")
    # The audit trail names a model by its label: earlier events of a mapping stay findable with later ones.
    events = apps.get_model("jobs", "AuditEvent")
    for name in MOVED_LABELS:
        events.objects.filter(object_type=f"jobs.{name}").update(object_type=f"timesheets.{name}")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('jobs', '0005_timesheet_settings_plural'),
        ('contenttypes', '0002_remove_content_type_name'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='TimesheetSettings',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('update_policy', models.CharField(choices=[('source', 'Zammad wins: update Kimai'), ('manual', 'Manual: record a conflict')], default='source', max_length=10)),
                        ('orphan_policy', models.CharField(choices=[('conflict', 'Record a conflict'), ('delete', 'Delete the Kimai entry')], default='conflict', max_length=10)),
                        ('minutes_per_unit', models.DecimalField(decimal_places=3, default=1, max_digits=8)),
                        ('rounding_seconds', models.PositiveIntegerField(default=60, help_text="Kimai's rounding step.")),
                        ('lookback_days', models.PositiveIntegerField(default=60, help_text='Scheduled runs reconcile this many days.')),
                        ('create_missing_projects', models.BooleanField(default=False, help_text='Create a Kimai customer and project for an organisation without a mapping.')),
                        ('new_project_name', models.CharField(default='Support', max_length=150)),
                        ('job', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='timesheet_settings', to='jobs.syncjob')),
                    ],
                    options={
                        'verbose_name': 'time sheet settings',
                        'verbose_name_plural': 'time sheet settings',
                        'db_table': 'jobs_timesheetsettings',
                    },
                ),
                migrations.CreateModel(
                    name='WebhookEndpoint',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('token', models.CharField(default=jobs.timesheets.models._webhook_token, max_length=64, unique=True)),
                        ('secret', fernet_fields.fields.EncryptedTextField(verbose_name='HMAC SHA1 signature token')),
                        ('enabled', models.BooleanField(default=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('job', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='webhook_endpoints', to='jobs.syncjob')),
                    ],
                    options={
                        'db_table': 'jobs_webhookendpoint',
                    },
                ),
                migrations.CreateModel(
                    name='ActivityMapping',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('zammad_type_id', models.PositiveIntegerField(blank=True, null=True)),
                        ('zammad_type_name', models.CharField(blank=True, max_length=250)),
                        ('kimai_activity', models.PositiveIntegerField()),
                        ('job', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='activity_mappings', to='jobs.syncjob')),
                    ],
                    options={
                        'db_table': 'jobs_activitymapping',
                        'constraints': [models.UniqueConstraint(fields=('job', 'zammad_type_id'), name='activitymap_unique_type')],
                    },
                ),
                migrations.CreateModel(
                    name='AgentMapping',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('zammad_user_id', models.PositiveIntegerField()),
                        ('email', models.EmailField(blank=True, max_length=254)),
                        ('kimai_user', models.PositiveIntegerField()),
                        ('timezone', models.CharField(blank=True, max_length=64, validators=[calsync.validators.validate_time_zone])),
                        ('job', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='agent_mappings', to='jobs.syncjob')),
                    ],
                    options={
                        'db_table': 'jobs_agentmapping',
                        'constraints': [models.UniqueConstraint(fields=('job', 'zammad_user_id'), name='agentmap_unique_agent')],
                    },
                ),
                migrations.CreateModel(
                    name='PendingTicket',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('ticket_id', models.PositiveIntegerField()),
                        ('received_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('deliveries', models.PositiveIntegerField(default=1)),
                        ('job', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='pending_tickets', to='jobs.syncjob')),
                    ],
                    options={
                        'db_table': 'jobs_pendingticket',
                        'constraints': [models.UniqueConstraint(fields=('job', 'ticket_id'), name='pendingticket_unique')],
                    },
                ),
                migrations.CreateModel(
                    name='ProjectMapping',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('organisation', models.CharField(blank=True, max_length=250)),
                        ('kimai_customer', models.PositiveIntegerField(blank=True, null=True)),
                        ('kimai_project', models.PositiveIntegerField()),
                        ('job', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='project_mappings', to='jobs.syncjob')),
                    ],
                    options={
                        'db_table': 'jobs_projectmapping',
                        'constraints': [models.UniqueConstraint(fields=('job', 'organisation'), name='projectmap_unique_org')],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(content_types_follow, migrations.RunPython.noop, elidable=True),
    ]
