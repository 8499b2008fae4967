"""The audit trail (configuration, decisions, resolutions, retention) and the GDPR endpoints."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from accounts.models import Account
from calsync.ops.audit import audit_events_purge, audit_record
from calsync.ops.gdpr import person_ref
from calsync.ops.models import AuditEvent
from jobs.models import Conflict, SyncJob
from jobs.timesheets.models import AgentMapping

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(db) -> User:
    return User.objects.create_user("root", email="root@example.org", password="pw", is_staff=True)


@pytest.fixture
def job(staff) -> SyncJob:
    source = Account.objects.create(
        owner=staff,
        name="Z",
        kind="zammad",
        url="https://z.example.org",
        username="ann@example.org",
        password="s3cret-token",
    )
    dest = Account.objects.create(owner=staff, name="K", kind="kimai", url="https://k.example.org", password="t")
    return SyncJob.objects.create(owner=staff, name="time", source=source, destination=dest)


def test_an_account_change_through_the_api_is_audited_with_its_user_and_without_the_secret(client, staff, job):
    client.force_login(staff)
    answer = client.patch(
        f"/api/accounts/{job.source.pk}",
        {"name": "Zammad", "password": "new-token-xyz"},
        content_type="application/json",
    )
    assert answer.status_code == 200, answer.content
    event = AuditEvent.objects.filter(object_type="accounts.Account", action="update").latest("id")
    assert event.actor == staff
    assert (event.before["name"], event.after["name"]) == ("Z", "Zammad")
    assert event.after["password"] == "***"
    assert "new-token-xyz" not in str(event.before) + str(event.after)


def test_a_mapping_change_in_the_admin_is_audited(client, staff, job):
    staff.is_superuser = True
    staff.save()
    client.force_login(staff)
    answer = client.post(
        "/admin/timesheets/agentmapping/add/",
        {"job": job.pk, "zammad_user_id": 3, "email": "ann@example.org", "kimai_user": 2, "timezone": "Europe/Berlin"},
    )
    assert answer.status_code == 302
    event = AuditEvent.objects.get(object_type="timesheets.AgentMapping", action="create")
    assert (event.actor, event.after["timezone"]) == (staff, "Europe/Berlin")


def test_a_conflict_resolution_is_audited(staff, job):
    conflict = Conflict.objects.create(job=job, source_href="zammad-ta-1", reason="orphan")
    conflict.resolution, conflict.resolved_by = "ignore", staff
    conflict.save()
    event = AuditEvent.objects.get(action="resolve")
    assert (event.actor, event.after["resolution"], event.summary) == (staff, "ignore", "orphan: ignore")


def test_events_older_than_the_retention_are_deleted(settings):
    settings.CALSYNC_AUDIT_RETENTION_DAYS = 30
    old = audit_record(action="x", object_type="t")
    AuditEvent.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=31))
    recent = audit_record(action="y", object_type="t")
    assert audit_events_purge() == 1
    assert list(AuditEvent.objects.values_list("pk", flat=True)) == [recent.pk]


def test_gdpr_endpoints_are_for_staff_only(client, job):
    client.force_login(User.objects.create_user("bob"))
    assert client.get("/api/gdpr/export?email=ann@example.org").status_code == 403
    assert client.post("/api/gdpr/purge", {"email": "ann@example.org"}).status_code == 403


def test_gdpr_export_shows_everything_held_about_a_person(client, staff, job):
    AgentMapping.objects.create(job=job, zammad_user_id=3, email="ann@example.org", kimai_user=2)
    Conflict.objects.create(
        job=job, source_href="zammad-ta-1", reason="orphan", source_data='{"agent": "ann@example.org"}'
    )
    client.force_login(staff)
    data = client.get("/api/gdpr/export?email=ann@example.org").json()
    assert [a["username"] for a in data["accounts"]] == ["ann@example.org"]
    assert data["agent_mappings"][0]["zammad_user_id"] == 3
    assert data["time_entry_conflicts"][0]["reason"] == "orphan"
    assert data["audit_events"]  # the account's creation mentions the username
    assert "booking" in data["sources"]


def test_gdpr_purge_removes_the_person_and_audits_without_naming_them(client, staff, job):
    AgentMapping.objects.create(job=job, zammad_user_id=3, email="ann@example.org", kimai_user=2)
    client.force_login(staff)
    answer = client.post("/api/gdpr/purge", {"email": "ann@example.org"}, content_type="application/json")
    assert answer.status_code == 200, answer.content
    assert answer.json()["agent_mappings"] == 1
    after = client.get("/api/gdpr/export?email=ann@example.org").json()
    assert (after["accounts"], after["audit_events"], after["time_entry_conflicts"]) == ([], [], [])
    assert AgentMapping.objects.get().email == ""
    purge = AuditEvent.objects.get(action="gdpr.purge")
    assert (purge.actor, purge.object_id) == (staff, person_ref("ann@example.org"))
