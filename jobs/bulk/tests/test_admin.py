"""The bulk migration's admin pages: create, one status view, actions, and no stored password shown."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from jobs.bulk.models import BulkMigration
from jobs.models import SyncRun

pytestmark = pytest.mark.django_db


def test_staff_create_a_migration_upload_users_start_it_and_never_see_a_stored_password(admin_client) -> None:
    owner = User.objects.get(username="admin")
    added = admin_client.post(
        "/admin/bulk/bulkmigration/add/",
        {"owner": owner.pk, "name": "org", "source_url": "https://old.example.org/dav/",
         "destination_url": "https://new.example.org/", "destination_admin_username": "root",
         "destination_admin_password": "Secret-Root-Pw", "destination_principal_template": "https://new.example.org/{user}/",
         "mode": "copy", "conflict_policy": "source", "sync_calendars": "on", "components": '["VEVENT"]',
         "create_collections": "on", "users-TOTAL_FORMS": "0", "users-INITIAL_FORMS": "0"},
    )  # fmt: skip
    assert added.status_code == 302, added.content.decode()[:2000]
    migration = BulkMigration.objects.get()
    assert migration.destination_admin_password == "Secret-Root-Pw"
    upload = admin_client.post(
        f"/admin/bulk/bulkmigration/{migration.pk}/upload/",
        {"file": _file("source_user,source_password,destination_user\nann,Secret-Ann,ann\nann,x,bo\n")},
        follow=True,
    )

    started = admin_client.post(f"/admin/bulk/bulkmigration/{migration.pk}/act/start/", follow=True)
    page = admin_client.get(f"/admin/bulk/bulkmigration/{migration.pk}/change/").content.decode()

    messages = upload.content.decode()
    assert "1 users added; 1 rows refused." in messages and "Row 3, source_user: duplicate of row 2" in messages
    assert "1 runs queued." in started.content.decode()
    assert SyncRun.objects.filter(status="queued").count() == 1
    assert 'id="migration-status"' in page and "Secret" not in page + messages
    assert "<td>ann</td><td>ann</td><td>waiting</td>" in page
    assert admin_client.post(f"/admin/bulk/bulkmigration/{migration.pk}/act/nonsense/").status_code == 403
    assert admin_client.get(f"/admin/bulk/bulkmigration/{migration.pk}/report.csv").status_code == 200


def test_staff_queue_a_dry_run_and_delete_a_migration_only_once_its_runs_are_over(admin_client) -> None:
    from accounts.models import Account
    from jobs.bulk.services import migration_add_users, migration_create

    migration = migration_create(
        owner=User.objects.get(username="admin"), name="org", source_url="https://old.example.org/",
        destination_url="https://new.example.org/",
    )  # fmt: skip
    migration_add_users(
        migration=migration, data="source_user,source_password,destination_user,destination_password\na,p,b,q\n"
    )
    run = SyncRun.objects.create(job=migration.users.get().job, status="running")
    base = f"/admin/bulk/bulkmigration/{migration.pk}"

    queued = admin_client.post(f"{base}/act/dry-run/", follow=True).content.decode()
    refused = admin_client.post(f"{base}/delete/", {"post": "yes"}, follow=True).content.decode()
    SyncRun.objects.filter(pk=run.pk).update(status="completed")
    deleted = admin_client.post(f"{base}/delete/", {"post": "yes"})

    assert "Dry run queued for 1 users" in queued and "Dry run: 0 of 1 users planned" in queued
    assert "active runs: cancel them first" in refused
    assert deleted.status_code == 302
    assert not BulkMigration.objects.exists() and not Account.objects.exists() and not SyncRun.objects.exists()


def _file(text: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("users.csv", text.encode(), "text/csv")
