from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import DatabaseError
from django.urls import reverse
from django.utils import timezone
from kombu import Connection
from rest_framework.test import APIClient

from calsync.ops.models import Heartbeat
from calsync.testing.servers import free_port

pytestmark = pytest.mark.django_db


def staff_client(django_user_model) -> APIClient:
    client = APIClient()
    client.force_authenticate(django_user_model.objects.create_user("staff", is_staff=True))
    return client


def test_health_is_public_and_ok_when_the_database_answers():
    response = APIClient().get("/api/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_health_ignores_bad_credentials():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-token")

    assert client.get("/api/health/").status_code == 200


def test_health_is_503_when_the_database_fails(monkeypatch):
    def broken_cursor(*args, **kwargs):
        raise DatabaseError("connection refused")

    monkeypatch.setattr("calsync.ops.health.connection.cursor", broken_cursor)

    response = APIClient().get("/api/health")

    assert response.status_code == 503
    assert response.json()["status"] == "error"


def test_detailed_health_is_for_staff_only(django_user_model):
    alice = APIClient()
    alice.force_authenticate(django_user_model.objects.create_user("alice"))

    assert APIClient().get("/api/health/detailed").status_code in (401, 403)
    assert alice.get("/api/health/detailed").status_code == 403


def test_detailed_health_is_ok_with_fresh_worker_and_beat_heartbeats(django_user_model, settings):
    settings.CALSYNC_HEARTBEAT_SECONDS = 10
    now = timezone.now()
    Heartbeat.objects.create(name="worker@a", kind="worker", seen_at=now - timedelta(seconds=5))
    Heartbeat.objects.create(name="worker@b", kind="worker", seen_at=now - timedelta(seconds=500))
    Heartbeat.objects.create(name="beat@a", kind="beat", seen_at=now - timedelta(seconds=12))

    response = staff_client(django_user_model).get("/api/health/detailed")

    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True
    assert body["broker"]["ok"] is True
    assert "*" not in body["broker"]["url"]  # no password configured, so none is hinted at
    assert body["worker"]["ok"] is True
    assert body["worker"]["alive"] == 1
    assert 4 <= body["worker"]["age_seconds"] <= 10
    assert body["worker"]["stale_after_seconds"] == 30
    assert body["beat"]["ok"] is True
    assert body["beat"]["last_seen"]


def test_a_heartbeat_older_than_three_intervals_is_stale(django_user_model, settings):
    settings.CALSYNC_HEARTBEAT_SECONDS = 10
    now = timezone.now()
    Heartbeat.objects.create(name="worker@a", kind="worker", seen_at=now - timedelta(seconds=31))
    Heartbeat.objects.create(name="beat@a", kind="beat", seen_at=now - timedelta(seconds=29))

    response = staff_client(django_user_model).get("/api/health/detailed")

    body = response.json()
    assert response.status_code == 503
    assert body["status"] == "error"
    assert (body["worker"]["ok"], body["worker"]["alive"]) == (False, 0)
    assert body["worker"]["age_seconds"] >= 31
    assert body["beat"]["ok"] is True


def test_no_heartbeat_at_all_means_not_ok(django_user_model):
    response = staff_client(django_user_model).get("/api/health/detailed")

    body = response.json()
    assert response.status_code == 503
    assert body["worker"] == {
        "ok": False,
        "last_seen": None,
        "age_seconds": None,
        "alive": 0,
        "stale_after_seconds": body["worker"]["stale_after_seconds"],
        "error": "no worker has reported yet",
    }
    assert body["beat"]["ok"] is False


def test_an_unreachable_broker_is_reported_without_its_password(django_user_model, monkeypatch):
    url = f"redis://:broker-secret-31@127.0.0.1:{free_port()}/0"

    class UnreachableBroker:
        """Stands in for the Celery app: its broker URL would come from CELERY_BROKER_URL."""

        def connection_for_write(self, **options: Any) -> Connection:
            return Connection(url, **options)

    monkeypatch.setattr("calsync.ops.health.celery_app", UnreachableBroker())
    monkeypatch.setattr("calsync.ops.health.BROKER_TIMEOUT_SECONDS", 1.0)

    response = staff_client(django_user_model).get("/api/health/detailed")

    body = response.json()
    assert response.status_code == 503
    assert body["broker"]["ok"] is False
    assert body["broker"]["error"]
    assert "127.0.0.1" in body["broker"]["url"]
    assert "broker-secret-31" not in response.content.decode()


def test_the_heartbeat_admin_lists_heartbeats_read_only(admin_client):
    Heartbeat.objects.create(name="worker@host-1", kind="worker", seen_at=timezone.now())

    listing = admin_client.get(reverse("admin:ops_heartbeat_changelist"))

    assert b"worker@host-1" in listing.content
    assert admin_client.get(reverse("admin:ops_heartbeat_add")).status_code == 403
