"""The dashboard at /: staff see jobs, what needs them, health and history; nobody else gets in."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from booking.models import Appointment
from calsync.console.selectors import next_run_at
from calsync.ops.models import Heartbeat
from calsync.testing.console import dashboard_world
from jobs.models import OwedItem

pytestmark = pytest.mark.django_db


def test_it_sends_anonymous_visitors_to_the_admin_login(client):
    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"] == "/admin/login/?next=/"


def test_it_sends_signed_in_non_staff_to_the_admin_login():
    client = Client()
    client.force_login(User.objects.create_user("client"))

    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_its_live_json_refuses_non_staff(client):
    assert client.get("/console/live.json").status_code == 403


def test_the_booking_page_stays_public(client):
    assert client.get("/book/").status_code == 200


def test_it_shows_every_job_with_its_live_status_last_result_and_next_run(admin_client):
    world = dashboard_world()

    html = admin_client.get("/").content.decode()

    for job in (world.migrate, world.nightly, world.contacts):
        assert f'data-job="{job.pk}"' in html
    assert "652 of 1480 items" in html  # the running migration's progress
    assert ">Running</a>" in html and ">Failed</a>" in html
    assert "every 15 minutes" in html and "cron 0 2 * * *" in html
    assert "manual only" in html  # the migration has no schedule


def test_it_lists_what_needs_attention(admin_client):
    world = dashboard_world()

    html = admin_client.get("/").content.decode()

    assert f"/admin/jobs/syncrun/{world.failed.pk}/change/" in html
    assert "Nextcloud answered 401 Unauthorized" in html
    assert world.conflict.uid in html
    assert "Account Nextcloud" in html and "app password was revoked" in html
    assert "/ics/studio/holidays" in html and "timed out after 20 s" in html
    assert "Jonas Weber with Mira Lenz" in html
    assert "calendar was unreachable, check it" in html  # Lea's request was taken degraded


def test_it_lists_items_still_owed_and_pushes_the_calendar_refused(admin_client):
    world = dashboard_world()
    OwedItem.objects.create(
        job=world.migrate, source_collection="/cal/", href="/cal/standup.ics", summary="Stand-up",
        operation="create", reason="connection refused by mailcow.test:443",
    )  # fmt: skip
    OwedItem.objects.create(
        job=world.migrate, source_collection="/cal/", href="/cal/journal.ics", operation="create",
        reason="403 supported-calendar-component", state=OwedItem.State.NEEDS_ATTENTION, attempts=3,
    )  # fmt: skip
    refused = Appointment.objects.filter(status=Appointment.Status.PENDING).first()
    Appointment.objects.filter(pk=refused.pk).update(
        push_state=Appointment.PushState.FAILED, push_error="403 Forbidden: calendar is read-only"
    )

    html = admin_client.get("/").content.decode()

    assert "Items not yet synced" in html
    assert f"{world.migrate.name}: Stand-up" in html and "connection refused by mailcow.test:443" in html
    assert "/cal/journal.ics" in html and "Needs attention" in html
    assert "Appointments not in the calendar" in html and "calendar is read-only" in html


def test_it_says_all_clear_when_nothing_waits(admin_client):
    assert "All clear" in admin_client.get("/").content.decode()


def test_it_shows_the_same_health_as_the_detailed_health_endpoint(admin_client):
    Heartbeat.objects.create(name="worker@a", kind="worker", seen_at=timezone.now() - timedelta(hours=1))

    html = admin_client.get("/").content.decode()
    detailed = admin_client.get("/api/health/detailed").json()

    assert detailed["worker"]["ok"] is False
    worker_tile = html.split('data-health="workers"')[1].split("</div>\n  </div>")[0]
    assert 'class="dot error"' in worker_tile
    assert "no beat has reported yet" in html


def test_it_draws_the_history_of_each_job_as_svg(admin_client):
    world = dashboard_world()

    html = admin_client.get("/").content.decode()

    assert html.count("<svg viewBox=") == 3
    assert f'aria-label="Sync history of {world.contacts.name}"' in html
    assert f"/admin/jobs/syncrun/{world.failed.pk}/change/" in html.split('id="history-title"')[1]
    assert "<script src=" not in html and "https://" not in html


def test_its_live_json_follows_a_run(admin_client):
    world = dashboard_world()

    body = admin_client.get("/console/live.json").json()

    assert body["active"] is True
    running = next(job for job in body["jobs"] if job["id"] == world.migrate.pk)
    assert running == {
        "id": world.migrate.pk,
        "run": world.running.pk,
        "status": "running",
        "status_label": "Running",
        "active": True,
        "done": 652,
        "total": 1480,
        "percent": 44,
    }


def test_next_run_comes_from_the_beat_schedule():
    world = dashboard_world()
    task = world.contacts.schedule
    last = timezone.now() - timedelta(minutes=5)
    task.last_run_at = last
    now = timezone.now()

    assert abs((next_run_at(task, now=now) - (last + timedelta(minutes=15))).total_seconds()) < 1
    task.enabled = False
    assert next_run_at(task, now=now) is None


def test_with_the_broker_down_it_still_answers_and_shows_the_broker_red_without_its_password(admin_client, monkeypatch):
    from kombu import Connection

    from calsync.testing.servers import free_port

    url = f"redis://:broker-secret-31@127.0.0.1:{free_port()}/0"  # nothing listens: connection refused

    class UnreachableBroker:
        def connection_for_write(self, **options):
            return Connection(url, **options)

    monkeypatch.setattr("calsync.ops.health.celery_app", UnreachableBroker())
    monkeypatch.setattr("calsync.ops.health.BROKER_TIMEOUT_SECONDS", 1.0)
    dashboard_world()

    response = admin_client.get("/")

    assert response.status_code == 200
    html = response.content.decode()
    broker_tile = html.split('data-health="broker"')[1].split("</div>\n  </div>")[0]
    assert 'class="dot error"' in broker_tile
    assert "broker-secret-31" not in html
    assert "Carbonio → Mailcow migration" in html  # the rest of the page is there
