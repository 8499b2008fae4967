"""Heartbeat and AuditEvent come to ops from jobs, where their tables were created.

State only: the tables keep their names (``db_table``), so an existing database upgrades without
copying a row and a fresh one gets them from jobs' own migrations. jobs 0006 removes the two
models from jobs' state. The content types move too, so permissions given on them are kept.
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

MOVED = ("heartbeat", "auditevent")


def content_types_to_ops(apps, schema_editor):
    content_type = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    for model in MOVED:
        if not content_type.objects.using(db).filter(app_label="ops", model=model).exists():
            content_type.objects.using(db).filter(app_label="jobs", model=model).update(app_label="ops")


def content_types_to_jobs(apps, schema_editor):
    content_type = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    for model in MOVED:
        if not content_type.objects.using(db).filter(app_label="jobs", model=model).exists():
            content_type.objects.using(db).filter(app_label="ops", model=model).update(app_label="jobs")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("jobs", "0005_timesheet_settings_plural"),
        # After the time-sheet move, which relabels audit events while they are still jobs'.
        ("timesheets", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Heartbeat",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("name", models.CharField(max_length=200, unique=True)),
                        ("kind", models.CharField(max_length=20)),
                        ("seen_at", models.DateTimeField()),
                    ],
                    options={"db_table": "jobs_heartbeat"},
                ),
                migrations.CreateModel(
                    name="AuditEvent",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("created_at", models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
                        ("actor_label", models.CharField(blank=True, max_length=200)),
                        ("action", models.CharField(max_length=40)),
                        ("object_type", models.CharField(max_length=100)),
                        ("object_id", models.CharField(blank=True, max_length=200)),
                        ("summary", models.TextField(blank=True)),
                        ("before", models.JSONField(blank=True, null=True)),
                        ("after", models.JSONField(blank=True, null=True)),
                        (
                            "actor",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "jobs_auditevent",
                        "ordering": ["-created_at", "-id"],
                        "indexes": [
                            models.Index(fields=["object_type", "object_id"], name="jobs_audite_object__3f6bb0_idx")
                        ],
                    },
                ),
            ],
        ),
        migrations.RunPython(content_types_to_ops, content_types_to_jobs, elidable=True),
    ]
