"""Bulk migrations over the API: create, upload users row by row, status, dry run, schedule, report."""

from __future__ import annotations

import logging

import pytest
from django.contrib.auth.models import User
from django.db import connection
from rest_framework.test import APIClient

from accounts.models import Account
from jobs.bulk.models import MigrationUser
from jobs.bulk.tests.conftest import csv_of, radicale_user
from jobs.models import SyncJob

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner() -> User:
    return User.objects.create_user("olga", password="pw-olga-4711")


@pytest.fixture
def api(owner: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(owner)
    return client


def create_migration(api: APIClient, source: str, destination: str, **fields) -> dict:
    response = api.post(
        "/api/migrations",
        {"name": "Carbonio to Mailcow", "source_url": source, "destination_url": destination, **fields},
        format="json",
    )
    assert response.status_code == 201, response.content
    return response.json()


def test_it_creates_two_accounts_and_a_job_per_good_row_and_refuses_each_bad_row_without_echoing_it(
    api: APIClient, radicale, caplog
) -> None:
    migration = create_migration(api, radicale.url, radicale.url + "dest/", mode="mirror", sync_contacts=False)
    upload = csv_of(
        ("ann", "Secret-Ann-src", "ann.new", "Secret-Ann-dst"),
        ("bob", "", "bob.new", "Secret-Bob-dst"),
        ("ann", "Secret-Ann-again", "ann.other", "Secret-Ann-other"),
        ("cy", "Secret-Cy-src", "cy.new", "Secret-Cy-dst"),
    )

    with caplog.at_level(logging.DEBUG):
        response = api.post(f"/api/migrations/{migration['id']}/upload", {"csv": upload}, format="json")

    assert response.status_code == 201
    body = response.json()
    assert body["created"] == 2
    assert body["errors"] == [
        {"row": 3, "column": "source_password", "reason": "empty: a password or app password is required"},
        {"row": 4, "column": "source_user", "reason": "duplicate of row 2"},
    ]
    assert "Secret" not in response.content.decode() and "Secret" not in caplog.text
    jobs = SyncJob.objects.order_by("id")
    assert [(job.source.username, job.destination.username, job.mode, job.sync_contacts) for job in jobs] == [
        ("ann", "ann.new", "mirror", False), ("cy", "cy.new", "mirror", False),
    ]  # fmt: skip
    assert Account.objects.get(username="cy").password == "Secret-Cy-src"
    with connection.cursor() as cursor:
        cursor.execute("SELECT password FROM accounts_account")
        stored = " ".join(str(value) for (value,) in cursor.fetchall())
    assert "Secret" not in stored  # encrypted at rest, like every account secret
    detail = api.get(f"/api/migrations/{migration['id']}").content.decode()
    assert "Secret" not in detail and "password" not in detail.replace('"source_admin_password"', "")


def test_a_row_that_fails_half_way_leaves_nothing_behind_and_the_next_rows_still_land(
    api: APIClient, owner: User, radicale
) -> None:
    migration = create_migration(api, radicale.url, radicale.url)
    # The destination account's name is taken: the row's source account must not stay behind.
    Account.objects.create(
        owner=owner, name="Carbonio to Mailcow bob.new (destination)", kind="caldav", url=radicale.url
    )
    upload = csv_of(("bob", "pw-b", "bob.new", "pw-b2"), ("cy", "pw-c", "cy.new", "pw-c2"))

    body = api.post(f"/api/migrations/{migration['id']}/upload", {"csv": upload}, format="json").json()

    assert body["created"] == 1
    assert [(e["row"], e["column"]) for e in body["errors"]] == [(2, "destination_user")]
    assert "already exists" in body["errors"][0]["reason"]
    assert not Account.objects.filter(username="bob").exists()
    assert list(MigrationUser.objects.values_list("source_username", flat=True)) == ["cy"]
    again = api.post(f"/api/migrations/{migration['id']}/upload", {"csv": upload}, format="json").json()
    assert [e["reason"] for e in again["errors"]][-1] == "this user is already in the migration"


def test_a_file_upload_is_read_and_a_file_that_is_no_user_list_is_a_clear_400(api: APIClient, radicale) -> None:
    migration = create_migration(api, radicale.url, radicale.url)
    from django.core.files.uploadedfile import SimpleUploadedFile

    good = SimpleUploadedFile("users.csv", csv_of(("ann", "pw1", "ann.new", "pw2")).encode(), "text/csv")
    bad = SimpleUploadedFile("users.csv", b"login;secret\nann;Secret-Z\n", "text/csv")

    assert api.post(f"/api/migrations/{migration['id']}/upload", {"file": good}).json()["created"] == 1
    refused = api.post(f"/api/migrations/{migration['id']}/upload", {"file": bad})
    assert refused.status_code == 400 and "header line" in refused.json()["file"][0]
    assert "Secret" not in refused.content.decode()
    assert api.post(f"/api/migrations/{migration['id']}/upload", {}, format="json").status_code == 400


def test_a_non_staff_owner_cannot_point_a_migration_at_a_private_address(api: APIClient, settings) -> None:
    settings.CALSYNC_ALLOWED_PRIVATE_NETWORKS = []

    response = api.post(
        "/api/migrations",
        {"name": "m", "source_url": "http://127.0.0.1:5232/", "destination_url": "http://169.254.169.254/",
         "destination_admin_username": "root", "destination_principal_template": "http://10.0.0.1/{user}/"},
        format="json",
    )  # fmt: skip

    assert response.status_code == 400
    assert set(response.json()) == {"source_url", "destination_url", "destination_principal_template"}


def test_an_admin_login_needs_a_principal_template_with_the_user(api: APIClient, radicale) -> None:
    response = api.post(
        "/api/migrations",
        {"name": "m", "source_url": radicale.url, "destination_url": radicale.url,
         "source_admin_username": "cyrus", "source_admin_password": "Secret-Admin"},
        format="json",
    )  # fmt: skip

    assert response.status_code == 400 and "{user}" in response.json()["source_principal_template"][0]
    assert "Secret" not in response.content.decode()


def test_another_owners_migration_is_not_found(api: APIClient, radicale) -> None:
    migration = create_migration(api, radicale.url, radicale.url)
    other = APIClient()
    other.force_authenticate(User.objects.create_user("oscar"))

    assert other.get(f"/api/migrations/{migration['id']}").status_code == 404
    assert other.post(f"/api/migrations/{migration['id']}/start").status_code == 404
    assert other.get("/api/migrations").json()["count"] == 0


def test_the_status_dry_run_schedule_and_report_cover_every_user(
    api: APIClient, radicale, xandikos, eager_tasks, django_capture_on_commit_callbacks
) -> None:
    ann, bob = radicale_user(radicale, events=3), radicale_user(radicale, events=5)
    migration = create_migration(api, radicale.url, xandikos.url, sync_contacts=False)
    upload = csv_of((ann.name, ann.password, "user", "x"), (bob.name, bob.password, "=HYPERLINK(1)", "x"))
    assert api.post(f"/api/migrations/{migration['id']}/upload", {"csv": upload}, format="json").json()["created"] == 2

    status = api.get(f"/api/migrations/{migration['id']}").json()["status"]
    with django_capture_on_commit_callbacks() as queued:  # the tasks are sent once the request has answered
        dry_run = api.post(f"/api/migrations/{migration['id']}/dry-run")
    before = api.get(f"/api/migrations/{migration['id']}").json()["status"]["dry_run"]
    for send in queued:
        send()  # eager: each user's task plans it now, as a worker would
    dry_status = api.get(f"/api/migrations/{migration['id']}").json()["status"]["dry_run"]
    plans = api.get(f"/api/migrations/{migration['id']}/users").json()
    scheduled = api.post(f"/api/migrations/{migration['id']}/schedule", {"interval_minutes": 60}, format="json")
    report = api.get(f"/api/migrations/{migration['id']}/report.csv")

    assert (status["users"], status["not_started"], status["done"], status["items_moved"]) == (2, 2, 0, 0)
    assert (dry_run.status_code, dry_run.json(), len(queued)) == (202, {"queued": 2}, 2)
    assert (before["planned"], before["of"]) == (0, 2)
    assert (dry_status["planned"], dry_status["of"], dry_status["actions"], dry_status["failed"]) == (2, 2, 8, 0)
    assert [(plan["source_user"], plan["plan"]["total"], plan["plan"]["counts"]) for plan in plans] == [
        (ann.name, 3, {"create-destination": 3}), (bob.name, 5, {"create-destination": 5}),
    ]  # fmt: skip
    assert api.get(f"/api/migrations/{migration['id']}").json()["status"]["items_left"] == 8
    assert scheduled.json()["jobs"] == 2
    assert SyncJob.objects.filter(schedule__interval__every=60).count() == 2
    lines = report.content.decode().splitlines()
    assert report["Content-Type"].startswith("text/csv") and len(lines) == 3
    assert ",'=HYPERLINK(1)," in lines[2]  # a formula in a cell stays text


def test_the_time_left_follows_the_pace_of_the_items_done_since_the_start(api: APIClient, radicale) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from jobs.bulk.models import BulkMigration
    from jobs.models import SyncRun

    migration = create_migration(api, radicale.url, radicale.url)
    upload = csv_of(("ann", "p1", "ann.new", "p2"), ("bob", "p3", "bob.new", "p4"), ("cy", "p5", "cy.new", "p6"))
    api.post(f"/api/migrations/{migration['id']}/upload", {"csv": upload}, format="json")
    BulkMigration.objects.filter(pk=migration["id"]).update(started_at=timezone.now() - timedelta(seconds=100))
    ann, bob, cy = (member.job for member in MigrationUser.objects.order_by("id"))
    SyncRun.objects.create(job=ann, status="completed", progress_done=30, progress_total=30, created=30)
    SyncRun.objects.create(job=bob, status="running", progress_done=20, progress_total=120, created=20)
    MigrationUser.objects.filter(job=cy).update(plan={"counts": {"create-destination": 40}, "total": 40})

    status = api.get(f"/api/migrations/{migration['id']}").json()["status"]

    assert (status["done"], status["running"], status["not_started"]) == (1, 1, 1)
    assert (status["items_moved"], status["items_left"], status["users_without_estimate"]) == (50, 140, 0)
    assert 270 <= status["seconds_left"] <= 280  # 140 items at the 50 items per 100 s done so far


def test_deleting_a_users_job_takes_the_user_out_of_the_migration_and_its_accounts_can_go_after(
    api: APIClient, radicale
) -> None:
    migration = create_migration(api, radicale.url, radicale.url)
    api.post(f"/api/migrations/{migration['id']}/upload", {"csv": csv_of(("ann", "p1", "ann.n", "p2"))}, format="json")
    member = MigrationUser.objects.get()

    refused = api.delete(f"/api/accounts/{member.source_account_id}")
    deleted = api.delete(f"/api/sync-jobs/{member.job_id}")
    account_gone = api.delete(f"/api/accounts/{member.source_account_id}")

    assert (refused.status_code, deleted.status_code, account_gone.status_code) == (409, 204, 204)
    assert api.get(f"/api/migrations/{migration['id']}").json()["status"]["users"] == 0


def test_deleting_a_migration_is_refused_while_a_run_is_active_then_takes_its_jobs_and_accounts(
    api: APIClient, owner: User, radicale
) -> None:
    from jobs.models import SyncRun

    migration = create_migration(api, radicale.url, radicale.url)
    upload = csv_of(("ann", "p1", "ann.n", "p2"), ("bob", "p3", "bob.n", "p4"))
    api.post(f"/api/migrations/{migration['id']}/upload", {"csv": upload}, format="json")
    kept = Account.objects.create(owner=owner, name="not the migration's", kind="caldav", url=radicale.url)
    running = SyncRun.objects.create(job=MigrationUser.objects.order_by("id")[0].job, status="running")

    refused = api.delete(f"/api/migrations/{migration['id']}")
    SyncRun.objects.filter(pk=running.pk).update(status="cancelled")
    deleted = api.delete(f"/api/migrations/{migration['id']}")

    assert refused.status_code == 409 and "active runs" in refused.json()["detail"]
    assert deleted.status_code == 204
    assert api.get(f"/api/migrations/{migration['id']}").status_code == 404
    assert (MigrationUser.objects.count(), SyncJob.objects.count()) == (0, 0)
    assert list(Account.objects.values_list("pk", flat=True)) == [kept.pk]


def test_the_gdpr_export_lists_the_migrations_naming_a_person_and_the_purge_forgets_the_name(
    api: APIClient, radicale
) -> None:
    from calsync.ops.gdpr import gdpr_export, gdpr_purge

    migration = create_migration(api, radicale.url, radicale.url)
    upload = csv_of(("ann@old.example", "Secret-1", "ann@new.example", "Secret-2"))
    api.post(f"/api/migrations/{migration['id']}/upload", {"csv": upload}, format="json")

    exported = gdpr_export(email="ANN@old.example")["sources"]["bulk_migrations"]
    purged = gdpr_purge(email="ann@old.example")["bulk_migrations"]

    assert [(u["migration"], u["source_user"], u["destination_user"]) for u in exported["users"]] == [
        ("Carbonio to Mailcow", "ann@old.example", "ann@new.example")
    ]
    assert "Secret" not in str(exported)
    assert purged == 1
    member = MigrationUser.objects.get()
    assert (member.source_username, member.destination_username) == (f"(purged #{member.pk})", "ann@new.example")
