"""Heartbeat and AuditEvent moved from jobs to ops without copying: an existing database keeps
its rows, tables and content types."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

JOBS_BEFORE = ("jobs", "0005_timesheet_settings_plural")
CONTENT_TYPES = ("contenttypes", "0002_remove_content_type_name")


def migrate(targets, state_of):
    MigrationExecutor(connection).migrate(targets)
    return MigrationExecutor(connection).loader.project_state(state_of).apps


def latest():
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


@pytest.mark.django_db(transaction=True)
def test_it_keeps_the_rows_a_database_from_before_the_move_holds():
    try:
        old = migrate([JOBS_BEFORE, ("ops", None)], state_of=[JOBS_BEFORE, CONTENT_TYPES])
        content_type = old.get_model("contenttypes", "ContentType")
        content_type.objects.get_or_create(app_label="jobs", model="heartbeat")
        old.get_model("jobs", "Heartbeat").objects.create(name="worker@old", kind="worker", seen_at=timezone.now())
        old.get_model("jobs", "AuditEvent").objects.create(action="update", object_type="jobs.syncjob", summary="kept")
    finally:  # whatever happened, the tests after this one meet the schema as it is today
        new = migrate(latest(), state_of=latest())

    assert list(new.get_model("ops", "Heartbeat").objects.values_list("name", flat=True)) == ["worker@old"]
    assert list(new.get_model("ops", "AuditEvent").objects.values_list("summary", flat=True)) == ["kept"]
    moved = new.get_model("contenttypes", "ContentType").objects.filter(model="heartbeat")
    assert list(moved.values_list("app_label", flat=True)) == ["ops"]
    tables = connection.introspection.table_names()
    assert {"jobs_heartbeat", "jobs_auditevent"} <= set(tables)
    assert not any(table.startswith("ops_") for table in tables)
