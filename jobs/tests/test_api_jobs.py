"""The sync-jobs API: CRUD, lifecycle, runs and logs, dry-run, conflicts, worker status."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth.models import User
from django_celery_beat.models import PeriodicTask
from rest_framework.test import APIClient

from accounts.connectors import connector_for
from accounts.connectors.base import AccountConfig
from accounts.models import Account
from calsync.lib.items import extract_uid
from calsync.ops.models import Heartbeat
from calsync.testing import samples
from jobs.models import Conflict, SyncJob, SyncRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice() -> User:
    return User.objects.create_user("alice", password="pw-alice-123")


@pytest.fixture
def api(alice) -> APIClient:
    client = APIClient()
    client.force_authenticate(alice)
    return client


def dav_account(owner: User, server, name: str) -> Account:
    return Account.objects.create(
        owner=owner, name=name, kind="caldav", url=server.url, username=server.username, password=server.password
    )


def calendar_on(server, name: str, objects: list[bytes]):
    dav = connector_for(
        AccountConfig(kind="caldav", url=server.url, username=server.username, password=server.password)
    )
    collection = dav.create_collection(name=name, kind="calendar", components=("VEVENT", "VTODO"))
    for data in objects:
        dav.put(collection, data, uid=extract_uid(data))
    return collection


@pytest.fixture
def job_payload(alice, radicale, xandikos) -> dict:
    collection = calendar_on(radicale, f"Api {uuid.uuid4().hex[:6]}", [samples.timed_event(n) for n in range(4)])
    return {
        "name": "nightly",
        "source": dav_account(alice, radicale, "radicale").pk,
        "destination": dav_account(alice, xandikos, "xandikos").pk,
        "mode": "mirror",
        "sync_contacts": False,
        "collection_map": {collection.url: ""},
    }


def test_anonymous_requests_are_refused(client):
    assert client.get("/api/sync-jobs").status_code == 401


def test_a_job_is_created_with_a_schedule_that_beat_will_run(api, job_payload):
    response = api.post("/api/sync-jobs", {**job_payload, "schedule": {"interval_minutes": 15}}, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "pending" and body["last_run"] is None
    assert body["schedule"] == {"interval_minutes": 15, "crontab": "", "enabled": True}
    task = PeriodicTask.objects.get(name=f"sync job {body['id']}")
    assert (task.task, task.args, task.interval.every) == ("jobs.sync_job_scheduled", f"[{body['id']}]", 15)


def test_a_schedule_can_be_a_crontab_and_can_be_removed(api, job_payload):
    job_id = api.post("/api/sync-jobs", job_payload, format="json").json()["id"]

    response = api.patch(f"/api/sync-jobs/{job_id}", {"schedule": {"crontab": "*/30 6-22 * * 1-5"}}, format="json")
    assert response.json()["schedule"]["crontab"] == "*/30 6-22 * * 1-5"
    assert (
        api.patch(f"/api/sync-jobs/{job_id}", {"schedule": {"crontab": "every day"}}, format="json").status_code == 400
    )

    api.patch(f"/api/sync-jobs/{job_id}", {"schedule": {}}, format="json")
    assert not PeriodicTask.objects.filter(name=f"sync job {job_id}").exists()


def test_jobs_only_use_ones_own_accounts_and_two_distinct_ones(api, job_payload):
    stranger = User.objects.create_user("mallory")
    theirs = Account.objects.create(owner=stranger, name="x", kind="caldav", url="http://127.0.0.1:1/")

    foreign = api.post("/api/sync-jobs", {**job_payload, "destination": theirs.pk}, format="json")
    same = api.post("/api/sync-jobs", {**job_payload, "destination": job_payload["source"]}, format="json")

    assert foreign.status_code == 400 and "destination" in foreign.json()
    assert same.status_code == 400 and same.json()["destination"] == ["The destination must be another account."]


def test_another_user_cannot_see_or_start_my_job(api, job_payload):
    job_id = api.post("/api/sync-jobs", job_payload, format="json").json()["id"]
    other = APIClient()
    other.force_authenticate(User.objects.create_user("bob"))

    assert other.get(f"/api/sync-jobs/{job_id}").status_code == 404
    assert other.post(f"/api/sync-jobs/{job_id}/start").status_code == 404
    assert other.get("/api/sync-jobs").json()["count"] == 0


def test_start_pause_resume_and_cancel_follow_the_run_states(api, job_payload, django_capture_on_commit_callbacks):
    job_id = api.post("/api/sync-jobs", job_payload, format="json").json()["id"]

    with django_capture_on_commit_callbacks() as queued:
        started = api.post(f"/api/sync-jobs/{job_id}/start")
    assert started.status_code == 202 and started.json()["status"] == "queued"
    assert len(queued) == 1  # the task is sent only once the run row is committed
    assert api.post(f"/api/sync-jobs/{job_id}/start").status_code == 409

    assert api.post(f"/api/sync-jobs/{job_id}/pause").json()["status"] == "paused"
    assert api.post(f"/api/sync-jobs/{job_id}/pause").status_code == 409
    with django_capture_on_commit_callbacks():
        assert api.post(f"/api/sync-jobs/{job_id}/resume").json()["status"] == "queued"
    assert api.post(f"/api/sync-jobs/{job_id}/cancel").json()["status"] == "cancelled"
    assert api.post(f"/api/sync-jobs/{job_id}/cancel").status_code == 409
    assert api.get(f"/api/sync-jobs/{job_id}").json()["status"] == "cancelled"


def test_a_started_run_completes_and_reports_counters_runs_and_logs(
    api, job_payload, eager_tasks, django_capture_on_commit_callbacks
):
    job_id = api.post("/api/sync-jobs", job_payload, format="json").json()["id"]

    with django_capture_on_commit_callbacks(execute=True):
        api.post(f"/api/sync-jobs/{job_id}/start")

    job = api.get(f"/api/sync-jobs/{job_id}").json()
    assert job["status"] == "completed"
    assert job["last_run"]["created"] == 4
    assert job["last_run"]["progress_percent"] == 100.0
    assert api.get(f"/api/sync-jobs/{job_id}/runs").json()["count"] == 1
    logs = api.get(f"/api/sync-jobs/{job_id}/logs").json()["results"]
    assert logs[0]["message"].startswith("run started")
    assert logs[-1]["message"].startswith("run completed")
    tail = api.get(f"/api/sync-jobs/{job_id}/logs", {"after": logs[-2]["id"]}).json()["results"]
    assert [line["id"] for line in tail] == [logs[-1]["id"]]


def test_a_dry_run_returns_the_plan_and_writes_nothing(api, job_payload):
    job_id = api.post("/api/sync-jobs", job_payload, format="json").json()["id"]

    response = api.post(f"/api/sync-jobs/{job_id}/dry-run")

    assert response.status_code == 200
    [pair] = response.json()
    assert pair["kind"] == "calendar"
    assert len(pair["would_create"]) == 1 and pair["would_create"][0].startswith("Api ")
    assert pair["counts"] == {"create-destination": 4}
    assert not SyncRun.objects.exists()


def test_a_job_with_an_active_run_cannot_be_deleted(api, job_payload, django_capture_on_commit_callbacks):
    job_id = api.post("/api/sync-jobs", job_payload, format="json").json()["id"]
    with django_capture_on_commit_callbacks():
        api.post(f"/api/sync-jobs/{job_id}/start")

    assert api.delete(f"/api/sync-jobs/{job_id}").status_code == 409
    api.post(f"/api/sync-jobs/{job_id}/cancel")
    assert api.delete(f"/api/sync-jobs/{job_id}").status_code == 204


def test_a_manual_conflict_is_listed_and_resolved_with_the_source_version(
    api, alice, radicale, xandikos, eager_tasks, django_capture_on_commit_callbacks
):
    name = f"Conflict {uuid.uuid4().hex[:6]}"
    source_collection = calendar_on(radicale, name, [samples.timed_event(1)])
    job = SyncJob.objects.create(
        owner=alice, name="c", source=dav_account(alice, radicale, "r"), destination=dav_account(alice, xandikos, "x"),
        mode="two-way", conflict_policy="manual", sync_contacts=False, collection_map={source_collection.url: ""},
    )  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        api.post(f"/api/sync-jobs/{job.pk}/start")
    source = connector_for(
        AccountConfig(kind="caldav", url=radicale.url, username=radicale.username, password=radicale.password)
    )
    dest = connector_for(AccountConfig(kind="caldav", url=xandikos.url))
    dest_collection = next(c for c in dest.list_collections() if c.name == name)
    for dav, collection, text in ((source, source_collection, b"Source says"), (dest, dest_collection, b"Dest says")):
        [item] = dav.fetch(collection, list(dav.list_items(collection).items))
        dav.put(collection, item.data.replace(b"Standup 1", text), href=item.href, etag=item.etag)
    with django_capture_on_commit_callbacks(execute=True):
        api.post(f"/api/sync-jobs/{job.pk}/start")

    [conflict] = api.get("/api/conflicts", {"open": "true"}).json()["results"]
    assert "Source says" in conflict["source_data"] and "Dest says" in conflict["dest_data"]
    resolved = api.post(f"/api/conflicts/{conflict['id']}/resolve", {"resolution": "source"}, format="json")

    assert resolved.status_code == 200 and resolved.json()["resolution"] == "source"
    [item] = dest.fetch(dest_collection, list(dest.list_items(dest_collection).items))
    assert b"Source says" in item.data
    assert (
        api.post(f"/api/conflicts/{conflict['id']}/resolve", {"resolution": "ignore"}, format="json").status_code == 409
    )
    assert Conflict.objects.get().resolved_by == alice
    with django_capture_on_commit_callbacks(execute=True):
        api.post(f"/api/sync-jobs/{job.pk}/start")
    assert api.get(f"/api/sync-jobs/{job.pk}").json()["last_run"]["conflicts"] == 0


def test_worker_status_lists_workers_beat_and_the_queue(
    api, alice, admin_client, job_payload, django_capture_on_commit_callbacks
):
    from django.utils import timezone

    Heartbeat.objects.create(name="worker@a", kind="worker", seen_at=timezone.now())
    Heartbeat.objects.create(name="beat@a", kind="beat", seen_at=timezone.now())
    job_id = api.post("/api/sync-jobs", job_payload, format="json").json()["id"]
    with django_capture_on_commit_callbacks():
        api.post(f"/api/sync-jobs/{job_id}/start")

    assert api.get("/api/worker/status").status_code == 403  # the deployment is staff business
    body = admin_client.get("/api/worker/status").json()

    assert [w["name"] for w in body["workers"]] == ["worker@a"]
    assert body["beat"]["name"] == "beat@a"
    assert body["runs"]["queued"] == 1
