"""The jobs admin: job list with status and progress, lifecycle actions, run page, conflicts."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django_celery_beat.models import PeriodicTask

from accounts.models import Account
from jobs.models import Conflict, SyncJob, SyncLog, SyncRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def job(admin_user: User) -> SyncJob:
    source = Account.objects.create(owner=admin_user, name="old", kind="caldav", url="http://127.0.0.1:1/")
    dest = Account.objects.create(owner=admin_user, name="new", kind="caldav", url="http://127.0.0.1:2/")
    return SyncJob.objects.create(owner=admin_user, name="move", source=source, destination=dest)


def test_the_job_list_shows_status_and_progress_of_the_latest_run(admin_client, job):
    SyncRun.objects.create(job=job, status="completed", progress_done=3, progress_total=3)
    SyncRun.objects.create(job=job, status="running", progress_done=40, progress_total=80)

    page = admin_client.get("/admin/jobs/syncjob/").content.decode()

    assert ">running</span>" in page
    assert 'class="calsync-progress" title="40 of 80"' in page
    assert "width:50%" in page


def test_start_pause_and_cancel_actions(admin_client, job, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks():
        admin_client.post("/admin/jobs/syncjob/", {"action": "start_jobs", "_selected_action": [job.pk]})
    assert SyncRun.objects.get(job=job).status == "queued"

    admin_client.post("/admin/jobs/syncjob/", {"action": "pause_jobs", "_selected_action": [job.pk]})
    assert SyncRun.objects.get(job=job).status == "paused"
    admin_client.post("/admin/jobs/syncjob/", {"action": "cancel_jobs", "_selected_action": [job.pk]})
    assert SyncRun.objects.get(job=job).status == "cancelled"

    response = admin_client.post(
        "/admin/jobs/syncjob/", {"action": "pause_jobs", "_selected_action": [job.pk]}, follow=True
    )
    assert "Move: no active run" in response.content.decode()


def test_a_schedule_set_in_the_admin_becomes_a_periodic_task(admin_client, job):
    form = {
        "name": "move", "source": job.source_id, "destination": job.destination_id, "mode": "copy",
        "conflict_policy": "source", "enabled": "on", "sync_calendars": "on", "components": ["VEVENT"],
        "create_collections": "on", "collection_map_mode": "name", "sync_all": "on", "interval_minutes": "30",
        "crontab": "",
    }  # fmt: skip
    response = admin_client.post(f"/admin/jobs/syncjob/{job.pk}/change/", form)

    assert response.status_code == 302, response.content.decode()[:2000]
    assert PeriodicTask.objects.get(name=f"sync job {job.pk}").interval.every == 30


def test_the_run_page_shows_the_log_and_serves_live_progress(admin_client, job):
    run = SyncRun.objects.create(job=job, status="running", progress_done=5, progress_total=10, created=5)
    first = SyncLog.objects.create(run=run, message="run started", level="info")
    SyncLog.objects.create(run=run, message="refused: trashbin", level="error", item="/cal/x.ics")

    page = admin_client.get(f"/admin/jobs/syncrun/{run.pk}/change/").content.decode()
    progress = admin_client.get(f"/admin/jobs/syncrun/{run.pk}/progress/", {"after": first.pk}).json()

    assert "refused: trashbin" in page and "This page updates itself" in page
    assert progress["active"] is True and progress["progress_done"] == 5
    assert [line["message"] for line in progress["logs"]] == ["refused: trashbin"]


def test_the_run_page_pauses_a_running_run(admin_client, job):
    run = SyncRun.objects.create(job=job, status="running")

    admin_client.post(f"/admin/jobs/syncrun/{run.pk}/control/pause/")

    run.refresh_from_db()
    assert run.pause_requested is True


def test_a_conflict_shows_both_versions_side_by_side_and_can_be_ignored(admin_client, job, admin_user):
    conflict = Conflict.objects.create(
        job=job,
        uid="u1",
        reason="changed on both sides",
        source_data="BEGIN:VEVENT\nSUMMARY:Source title\nEND:VEVENT",
        dest_data="BEGIN:VEVENT\nSUMMARY:Dest title\nEND:VEVENT",
    )

    page = admin_client.get(f"/admin/jobs/conflict/{conflict.pk}/change/").content.decode()
    side_by_side = page[page.find("<h2>Both versions") :]
    assert '<table class="diff"' in side_by_side and "diff_chg" in side_by_side
    assert "Source" in side_by_side and "Dest" in side_by_side
    admin_client.post(f"/admin/jobs/conflict/{conflict.pk}/resolve/ignore/")

    conflict.refresh_from_db()
    assert (conflict.resolution, conflict.resolved_by) == ("ignore", admin_user)
