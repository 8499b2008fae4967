"""manage.py migrate_org: the same migration from the command line."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError

from jobs.bulk.models import BulkMigration
from jobs.bulk.tests.conftest import csv_of, radicale_user
from jobs.models import SyncJob

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("migrate_org", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_it_creates_plans_schedules_and_reports_a_migration_from_a_csv(tmp_path: Path, radicale) -> None:
    User.objects.create_user("olga")
    ann, new = radicale_user(radicale, events=2), radicale_user(radicale)
    users = tmp_path / "users.csv"
    users.write_text(csv_of((ann.name, ann.password, new.name, new.password), ("bob", "", "bob.new", "Secret-Bob")))

    created, refused = run(
        "create", "--name", "org", "--owner", "olga", "--source-url", radicale.url,
        "--destination-url", radicale.url, "--csv", str(users),
    )  # fmt: skip
    migration = BulkMigration.objects.get()
    planned, _ = run("dry-run", str(migration.pk))
    scheduled, _ = run("schedule", str(migration.pk), "--every", "30")
    status, _ = run("status", str(migration.pk))
    run("report", str(migration.pk), "--output", str(tmp_path / "report.csv"))

    assert "1 users added, 1 rows refused" in created
    assert refused == "row 3 source_password: empty: a password or app password is required\n"
    assert planned.startswith(f"{ann.name}: 2 ")
    assert scheduled == "schedule set on 1 jobs\n"
    assert SyncJob.objects.filter(schedule__interval__every=30).count() == 1
    assert "users=1 done=0 running=0 waiting=0 attention=0 not_started=1" in status
    assert "items moved 0, left 2" in status
    report = (tmp_path / "report.csv").read_text().splitlines()
    assert report[0].startswith("row,source_user,destination_user,state") and len(report) == 2
    assert "Secret" not in created + refused + "".join(report) and ann.password not in "".join(report)


def test_it_names_what_is_wrong_instead_of_creating_anything() -> None:
    User.objects.create_user("olga")

    with pytest.raises(CommandError, match="source_url"):
        run("create", "--name", "x", "--owner", "olga", "--source-url", "ftp://x", "--destination-url", "https://y/")
    with pytest.raises(CommandError, match="no migration 99"):
        run("status", "99")
    assert not BulkMigration.objects.exists()
