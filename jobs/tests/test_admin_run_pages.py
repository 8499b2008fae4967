"""Run pages and the job page's controls, through Django's client: read-only, one snapshot, the
buttons that apply, the failure reason first, controls only by POST with CSRF and permission."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from accounts.models import Account
from jobs.models import SyncJob, SyncLog, SyncRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def job(admin_user: User) -> SyncJob:
    source = Account.objects.create(owner=admin_user, name="old", kind="caldav", url="http://127.0.0.1:1/")
    dest = Account.objects.create(owner=admin_user, name="new", kind="caldav", url="http://127.0.0.1:2/")
    return SyncJob.objects.create(owner=admin_user, name="move", source=source, destination=dest)


def _buttons(page: str) -> list[str]:
    """The control forms the page shows (a hidden one is there for the script, not for the eye)."""
    return re.findall(r'<form method="post" action="[^"]+" data-action="(\w+)">', page)


def test_it_shows_a_finished_run_without_save_delete_or_run_buttons(admin_client, job):
    run = SyncRun.objects.create(job=job, status="completed", created=3, progress_done=3, progress_total=3)

    page = admin_client.get(f"/admin/jobs/syncrun/{run.pk}/change/").content.decode()

    assert _buttons(page) == []
    assert 'name="_save"' not in page and "deletelink" not in page
    assert 'data-run="label" data-state="completed">Completed<' in page
    assert admin_client.post(f"/admin/jobs/syncrun/{run.pk}/delete/").status_code == 403


def test_it_offers_pause_and_cancel_while_running_and_resume_once_paused(admin_client, job):
    run = SyncRun.objects.create(job=job, status="running")
    assert _buttons(admin_client.get(f"/admin/jobs/syncrun/{run.pk}/change/").content.decode()) == ["pause", "cancel"]

    SyncRun.objects.filter(pk=run.pk).update(status="paused")
    assert _buttons(admin_client.get(f"/admin/jobs/syncrun/{run.pk}/change/").content.decode()) == ["resume", "cancel"]


def test_it_says_why_a_run_failed_before_anything_else(admin_client, job):
    run = SyncRun.objects.create(job=job, status="failed", error="AuthError: 401 from the destination")
    SyncLog.objects.create(run=run, level="error", message="AuthError: 401 from the destination")

    page = admin_client.get(f"/admin/jobs/syncrun/{run.pk}/change/").content.decode()

    main = page[page.index('id="content-main"') :]
    assert main.index("Why it failed") < main.index("data-run-box") < main.index("calsync-log")
    assert "AuthError: 401 from the destination" in main[: main.index("data-run-box")]


def test_its_header_counters_and_progress_agree_with_the_live_snapshot(admin_client, job):
    run = SyncRun.objects.create(
        job=job,
        status="running",
        created=200,
        progress_done=136,
        progress_total=400,
        report={"collections": {"/cal/work/": {"name": "Work", "destination": "/dav/work/", "created": 200}}},
    )

    page = admin_client.get(f"/admin/jobs/syncrun/{run.pk}/change/").content.decode()
    live = admin_client.get(f"/admin/jobs/syncrun/{run.pk}/progress/").json()

    assert (live["label"], live["progress_done"], live["created"]) == ("Running", 136, 200)
    assert f'data-state="running">{live["label"]}<' in page
    assert '<span data-run="progress">136 of 400 items</span>' in page
    assert '<b data-count="created">200</b>' in page
    assert "<title>Run #" in page and "(running)" not in page  # the title carries no stale status
    assert live["collections"] == [
        {"name": "Work", "destination": "/dav/work/", "created": 200, "updated": 0, "deleted": 0, "unchanged": 0,
         "conflicts": 0, "errors": 0}
    ]  # fmt: skip
    assert "<td>Work</td>" in page


def test_the_live_snapshot_answers_a_bad_log_cursor_with_400(admin_client, job):
    run = SyncRun.objects.create(job=job, status="running")
    assert admin_client.get(f"/admin/jobs/syncrun/{run.pk}/progress/", {"after": "x"}).status_code == 400


def test_run_controls_take_only_a_post_and_a_known_verb(admin_client, job):
    run = SyncRun.objects.create(job=job, status="running")
    assert admin_client.get(f"/admin/jobs/syncrun/{run.pk}/control/pause/").status_code == 405
    assert admin_client.post(f"/admin/jobs/syncrun/{run.pk}/control/explode/").status_code == 400
    assert admin_client.get(f"/admin/jobs/syncjob/{job.pk}/control/start/").status_code == 405
    assert admin_client.post(f"/admin/jobs/syncjob/{job.pk}/control/explode/").status_code == 400


def test_the_job_page_starts_pauses_resumes_and_cancels_through_the_run_services(
    admin_client, job, django_capture_on_commit_callbacks
):
    page = admin_client.get(f"/admin/jobs/syncjob/{job.pk}/change/").content.decode()
    assert _buttons(page) == ["start"] and "Never run" in page

    with django_capture_on_commit_callbacks():
        admin_client.post(f"/admin/jobs/syncjob/{job.pk}/control/start/")
    run = SyncRun.objects.get(job=job)
    assert (run.status, run.trigger) == ("queued", "manual")
    assert _buttons(admin_client.get(f"/admin/jobs/syncjob/{job.pk}/change/").content.decode()) == ["pause", "cancel"]

    admin_client.post(f"/admin/jobs/syncjob/{job.pk}/control/pause/")
    assert SyncRun.objects.get(pk=run.pk).status == "paused"
    with django_capture_on_commit_callbacks():
        admin_client.post(f"/admin/jobs/syncjob/{job.pk}/control/resume/")
    assert SyncRun.objects.get(pk=run.pk).status == "queued"
    admin_client.post(f"/admin/jobs/syncjob/{job.pk}/control/cancel/")
    assert SyncRun.objects.get(pk=run.pk).status == "cancelled"
    response = admin_client.post(f"/admin/jobs/syncjob/{job.pk}/control/pause/", follow=True)
    assert "Move: no active run" in response.content.decode()


def test_the_job_controls_need_the_csrf_token(admin_user, job):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)

    assert client.post(f"/admin/jobs/syncjob/{job.pk}/control/start/").status_code == 403
    assert not SyncRun.objects.filter(job=job).exists()


def test_staff_who_may_only_look_at_jobs_cannot_start_them(job):
    viewer = User.objects.create_user("viewer", password="x", is_staff=True)
    viewer.user_permissions.add(*Permission.objects.filter(codename__in=["view_syncjob", "view_syncrun"]))
    mine = SyncJob.objects.create(owner=viewer, name="mine", source=job.source, destination=job.destination)
    client = Client()
    client.force_login(viewer)

    page = client.get(f"/admin/jobs/syncjob/{mine.pk}/change/").content.decode()

    assert _buttons(page) == []
    assert client.post(f"/admin/jobs/syncjob/{mine.pk}/control/start/").status_code == 403
    assert client.post(f"/admin/jobs/syncjob/{job.pk}/control/start/").status_code == 403  # staff see all, change none
    assert not SyncRun.objects.exists()
