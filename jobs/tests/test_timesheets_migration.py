"""Time sheets moved from the jobs app to their own: an existing database keeps its rows."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from jobs.timesheets.models import TimesheetSettings

OLD_JOBS = ("jobs", "0005_timesheet_settings_plural")
# The accounts table as it was then too: later columns (the server profile) have no database default.
OLD_ACCOUNTS = ("accounts", "0004_hash_existing_api_tokens")


@pytest.mark.django_db(transaction=True)
def test_an_existing_databases_time_sheet_settings_survive_the_move(django_user_model):
    executor = MigrationExecutor(connection)
    try:
        executor.migrate([OLD_JOBS, OLD_ACCOUNTS, ("timesheets", None)])
        old = executor.loader.project_state([OLD_JOBS, OLD_ACCOUNTS]).apps
        owner = old.get_model("auth", "User").objects.create(username="bob")
        account = old.get_model("accounts", "Account")
        job = old.get_model("jobs", "SyncJob").objects.create(
            owner=owner,
            name="time",
            source=account.objects.create(owner=owner, name="z", kind="zammad", url="http://127.0.0.1:1/"),
            destination=account.objects.create(owner=owner, name="k", kind="kimai", url="http://127.0.0.1:2/"),
        )
        old.get_model("jobs", "TimesheetSettings").objects.create(job=job, lookback_days=7)
    finally:  # whatever happened, the tests after this one meet the schema as it is today
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())

    assert TimesheetSettings.objects.get(job_id=job.pk).lookback_days == 7
    assert TimesheetSettings._meta.app_label == "timesheets"
