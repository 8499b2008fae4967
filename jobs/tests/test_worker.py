"""Liveness heartbeats and a real Celery worker consuming the real broker."""

from __future__ import annotations

import time
import uuid

import pytest
from django.utils import timezone

from calsync.celery import app
from calsync.ops.beat import HeartbeatScheduler
from calsync.ops.heartbeats import heartbeat_record
from calsync.ops.models import Heartbeat
from calsync.testing.workers import eventually
from jobs.tasks import ping


@pytest.mark.django_db
def test_recording_a_heartbeat_twice_keeps_one_row_with_the_newer_time():
    first = heartbeat_record(name="worker@a", kind="worker")
    second = heartbeat_record(name="worker@a", kind="worker")
    assert Heartbeat.objects.count() == 1
    assert second.seen_at >= first.seen_at


# Beat closes stale connections as it ticks, which only works outside a test's transaction.
@pytest.mark.django_db(transaction=True)
def test_beat_records_its_heartbeat_at_most_every_heartbeat_interval(settings):
    settings.CALSYNC_HEARTBEAT_SECONDS = 1
    scheduler = HeartbeatScheduler(app=app)
    delay = scheduler.tick()
    first = Heartbeat.objects.get(kind="beat")
    assert first.name.startswith("beat@")
    assert delay <= 1

    scheduler.tick()
    assert Heartbeat.objects.get(kind="beat").seen_at == first.seen_at

    time.sleep(1.05)
    scheduler.tick()
    assert Heartbeat.objects.get(kind="beat").seen_at > first.seen_at


@pytest.mark.broker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_a_task_published_on_the_broker(celery_worker_process):
    token = uuid.uuid4().hex
    ping.delay(token)
    row = eventually(lambda: Heartbeat.objects.filter(name=f"ping@{token}", kind="ping").first())
    assert row.seen_at <= timezone.now()


@pytest.mark.broker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_records_its_heartbeat_on_start_and_keeps_it_fresh(celery_worker_process):
    name = f"worker@{celery_worker_process.nodename}"
    started = Heartbeat.objects.get(name=name, kind="worker").seen_at
    eventually(lambda: Heartbeat.objects.get(name=name).seen_at > started, timeout=10)
