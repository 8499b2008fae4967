"""Time sheets moved from the jobs app to their own: an existing database keeps its rows."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from jobs.timesheets.models import TimesheetSettings

OLD_JOBS = ("jobs", "0005_timesheet_settings_plural")


@pytest.mark.django_db(transaction=True)
def test_an_existing_databases_time_sheet_settings_survive_the_move(django_user_model):
    executor = MigrationExecutor(connection)
    executor.migrate([OLD_JOBS, ("timesheets", None)])
    old = executor.loader.project_state([OLD_JOBS]).apps
    owner = old.get_model("auth", "User").objects.create(username="bob")
    account = old.get_model("accounts", "Account")
    job = old.get_model("jobs", "SyncJob").objects.create(
        owner=owner,
        name="time",
        source=account.objects.create(owner=owner, name="z", kind="zammad", url="http://127.0.0.1:1/"),
        destination=account.objects.create(owner=owner, name="k", kind="kimai", url="http://127.0.0.1:2/"),
    )
    old.get_model("jobs", "TimesheetSettings").objects.create(job=job, lookback_days=7)

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    assert TimesheetSettings.objects.get(job_id=job.pk).lookback_days == 7
    assert TimesheetSettings._meta.app_label == "timesheets"
