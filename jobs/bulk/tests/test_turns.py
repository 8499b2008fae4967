"""A run that finds its destination's write slots taken waits its turn at the back of the queue."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from jobs.bulk import tasks
from jobs.bulk.services import migration_add_users, migration_create
from jobs.bulk.slicing import sync_slice_execute
from jobs.bulk.tests.conftest import csv_of
from jobs.models import SyncRun, WriteSlot

pytestmark = pytest.mark.django_db


def test_a_run_without_a_free_write_slot_goes_back_to_the_queue_after_a_short_wait(
    settings, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    settings.CALSYNC_WRITES_PER_SERVER = 1
    owner = User.objects.create_user("olga")
    migration = migration_create(
        owner=owner, name="org", source_url="https://old.example.org/", destination_url="https://new.example.org/"
    )
    migration_add_users(migration=migration, data=csv_of(("ann", "p", "ann", "p"), ("bob", "p", "bob", "p")))
    ann, bob = (member.job for member in migration.users.order_by("id"))
    holder = SyncRun.objects.create(job=ann, status="running", heartbeat_at=timezone.now())
    WriteSlot.objects.create(host=urlsplit(migration.destination_url).netloc, slot=0, run=holder)
    waiting = SyncRun.objects.create(job=bob, status="queued")
    sent: list[tuple[tuple, float]] = []

    def publish(args: tuple, kwargs: dict, countdown: float) -> _Sent:  # the broker's side: the worker tests'
        assert kwargs == {}
        sent.append((args, countdown))
        return _Sent()

    monkeypatch.setattr(tasks.sync_slice_task, "apply_async", publish)

    with django_capture_on_commit_callbacks(execute=True):
        assert sync_slice_execute(waiting.pk) is None

    waiting.refresh_from_db()
    assert waiting.status == "queued" and waiting.attempts == 1
    assert sent == [((waiting.pk,), 1.01)]  # one queued run of the migration waits: 1 s + 1/100


def test_every_run_of_a_migrations_job_is_sent_as_a_turn_whoever_starts_it(
    monkeypatch, django_capture_on_commit_callbacks
) -> None:
    from jobs import tasks as job_tasks
    from jobs.followups import sync_followups_start_due
    from jobs.runs import sync_runs_requeue_released

    owner = User.objects.create_user("olga")
    migration = migration_create(
        owner=owner, name="org", source_url="https://old.example.org/", destination_url="https://new.example.org/"
    )
    migration_add_users(migration=migration, data=csv_of(("ann", "p", "ann", "p"), ("bob", "p", "bob", "p")))
    ann, bob = (member.job for member in migration.users.order_by("id"))
    type(ann).objects.filter(pk=ann.pk).update(retry_at=timezone.now())  # a follow-up is due
    handed_back = SyncRun.objects.create(job=bob, status="queued", worker="w1@host")  # a stopping worker's
    sent: list[tuple[str, tuple]] = []

    def spy(name: str):
        def publish(args: tuple, kwargs: dict, **options) -> _Sent:  # the broker's side
            sent.append((name, args))
            return _Sent()

        return publish

    monkeypatch.setattr(tasks.sync_slice_task, "apply_async", spy("bulk.sync_slice"))
    monkeypatch.setattr(job_tasks.sync_run_task, "apply_async", spy("jobs.sync_run"))

    with django_capture_on_commit_callbacks(execute=True):
        (followup,) = sync_followups_start_due()
        sync_runs_requeue_released(worker="w1@host")

    assert SyncRun.objects.get(pk=followup).trigger == "followup"
    assert sent == [("bulk.sync_slice", (followup,)), ("bulk.sync_slice", (handed_back.pk,))]


class _Sent:
    id = "sent"
