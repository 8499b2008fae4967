"""A bulk migration on a real Celery worker: every user done, and users take turns."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from calsync.testing.workers import eventually
from jobs.bulk.models import MigrationUser
from jobs.bulk.tests.conftest import csv_of, radicale_user
from jobs.models import ItemLink, SyncLog

pytestmark = pytest.mark.broker


def test_three_users_of_unequal_sizes_on_one_worker_all_finish_and_the_small_ones_first(
    start_celery_worker, radicale
) -> None:
    big, small, smaller = (radicale_user(radicale, events=n) for n in (30, 5, 3))
    api = APIClient()
    api.force_authenticate(User.objects.create_user("olga"))
    migration = api.post(
        "/api/migrations",
        {"name": "org", "source_url": radicale.url, "destination_url": radicale.url, "sync_contacts": False},
        format="json",
    ).json()
    # Destination users are new users of the same Radicale; calsync creates their calendars.
    rows = [
        (u.name, u.password, *(lambda d: (d.name, d.password))(radicale_user(radicale))) for u in (big, small, smaller)
    ]
    assert (
        api.post(f"/api/migrations/{migration['id']}/upload", {"csv": csv_of(*rows)}, format="json").json()["created"]
        == 3
    )
    start_celery_worker(concurrency=1, env={"CALSYNC_BULK_SLICE_ITEMS": "10"})

    assert api.post(f"/api/migrations/{migration['id']}/start").json()["queued"] == 3
    status = eventually(
        lambda: (s := api.get(f"/api/migrations/{migration['id']}").json()["status"])["done"] == 3 and s,
        timeout=120,
        what="every user done",
    )

    assert (status["users"], status["attention"], status["items_moved"], status["items_left"]) == (3, 0, 38, 0)
    users = {u.source_username: u.job for u in MigrationUser.objects.select_related("job")}
    runs = {name: job.runs.get() for name, job in users.items()}
    # The big user went first, yielded after its first slice, and finished last.
    never = datetime.max.replace(tzinfo=UTC)
    assert min(runs, key=lambda name: runs[name].started_at or never) == big.name
    assert sorted(runs, key=lambda name: runs[name].finished_at or never)[-1] == big.name
    assert all(run.finished_at for run in runs.values())
    assert runs[big.name].created == 30 and runs[big.name].attempts >= 3
    turns = SyncLog.objects.filter(run=runs[big.name], message__contains="makes way for the migration's other users")
    assert turns.count() == 2
    assert not SyncLog.objects.filter(run=runs[big.name], message__startswith="the worker is stopping").exists()
    assert {name: ItemLink.objects.filter(job=job).count() for name, job in users.items()} == {
        big.name: 30, small.name: 5, smaller.name: 3,
    }  # fmt: skip
