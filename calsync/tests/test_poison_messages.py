"""A message that kills its worker on every delivery is dropped after N deliveries, and the worker goes on."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from calsync.celery import app
from calsync.ops.models import Heartbeat
from calsync.testing.workers import eventually
from jobs.tasks import ping

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.broker]

MAX_DELIVERIES = 2


def deliveries(marker: Path) -> int:
    return len(marker.read_text().splitlines()) if marker.exists() else 0


def test_it_drops_a_message_that_kills_its_worker_after_n_deliveries_and_runs_the_next(start_celery_worker, tmp_path):
    worker = start_celery_worker(
        extra_args=("--include", "calsync.testing.poison_tasks"),
        env={"CALSYNC_TASK_MAX_DELIVERIES": str(MAX_DELIVERIES)},
    )
    marker = tmp_path / "deliveries.txt"
    poison = app.send_task("calsync.testing.kill_own_worker", args=[str(marker)])
    dropped = f"task calsync.testing.kill_own_worker[{poison.id}] dropped: delivered {MAX_DELIVERIES} times"
    # A requeued message goes to the back of the queue; billiard notices a dead pool process ~10 s later.
    eventually(lambda: dropped in worker.output(), timeout=180, what="the drop log line")
    assert deliveries(marker) == MAX_DELIVERIES  # each one killed a pool process; the next was not run
    assert worker.output().count("exited with 'signal 9 (SIGKILL)'") == MAX_DELIVERIES

    token = uuid.uuid4().hex
    ping.delay(token)
    eventually(lambda: Heartbeat.objects.filter(name=f"ping@{token}", kind="ping").exists(), timeout=60)
    assert deliveries(marker) == MAX_DELIVERIES  # dropped means acknowledged: never delivered again
