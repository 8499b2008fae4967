"""A destination server stopped mid-run (connection refused) and started again: nothing is lost.

One outage covers the three modes: a copy, a mirror and a two-way job run at once on a real
Celery worker into the same destination Radicale, which is stopped while they write and started
again on the same port with the same data. Nobody presses anything afterwards: the follow-up
sweep (beat's task, called here as beat would) must land every owed item. The outages are real
lengths; the backoff and the retry budget are small settings so the test does not wait for them.
Figures: ``bench/outage_bench.py``.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from calsync.testing.outage import OutageWorld
from calsync.testing.servers import start_radicale, start_xandikos
from calsync.testing.workers import eventually
from jobs.models import OwedItem, SyncRun
from jobs.tasks import sync_followups_start_due_task

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.broker, pytest.mark.slow]

ITEMS = 120


@pytest.fixture
def spare_radicale():
    """A destination of the test's own, so stopping it disturbs no other test."""
    server = start_radicale()
    yield server
    server.stop()


@pytest.fixture
def spare_xandikos():
    server = start_xandikos()
    yield server
    server.stop()


def _worker_env(backoff: str) -> dict[str, str]:
    return {
        "CALSYNC_FOLLOWUP_BACKOFF": backoff,
        "CALSYNC_WRITES_PER_SERVER": "3",
        "CALSYNC_SERVER_DOWN_AFTER": "3",
        "CALSYNC_HTTP_RETRIES": "1",
    }


def _outage(world: OutageWorld, seconds: float) -> None:
    runs = world.start()
    world.wait_until_all_write(runs)
    world.outage(seconds, sweep=sync_followups_start_due_task)
    # While it was away, the runs stopped early and recorded what they owed.
    assert world.figures.owed_peak > 0
    assert SyncRun.objects.filter(pk__in=[r.pk for r in runs], status="failed").count() == 3
    assert all(SyncRun.objects.get(pk=r.pk).owed > 0 for r in runs)
    world.wait_until_landed(sweep=sync_followups_start_due_task, timeout=150)


def _assert_everything_present_once_and_identical(world: OutageWorld) -> None:
    assert OwedItem.objects.filter(job__in=world.jobs.values()).count() == 0
    for mode in world.jobs:
        source = world.contents(dest=False)
        dest = world.contents(mode, dest=True)
        assert sum(source.values()) == ITEMS
        assert dest == source, mode  # same objects, each exactly once
    for job in world.jobs.values():
        job.refresh_from_db()
        assert job.retry_at is None and job.retry_step == 0
        latest = job.runs.first()
        assert latest.trigger == SyncRun.Trigger.FOLLOWUP and latest.is_clean


# Once, in the PostgreSQL + Redis pass (the marker keeps it out of the embedded pass): the
# 2-minute outage below covers every mode on SQLite too, and CI time is worth keeping.
@pytest.mark.postgres
def test_a_35_second_outage_of_xandikos_mid_run_loses_nothing_in_any_mode(
    start_celery_worker, radicale, spare_xandikos
):
    start_celery_worker(concurrency=3, env=_worker_env("5,10,20"))
    world = OutageWorld(owner=User.objects.create_user("ops"), source=radicale, dest=spare_xandikos, items=ITEMS)

    _outage(world, 35)

    _assert_everything_present_once_and_identical(world)
    print("\n".join(["", "35 s outage:", *world.figures.lines()]))  # noqa: T201 - the figures, shown with a failure's captured output


def test_a_2_minute_outage_longer_than_the_whole_retry_budget_loses_nothing_in_any_mode(
    start_celery_worker, radicale, spare_radicale
):
    # The follow-up backoff is spent after 9 s and the HTTP retries after a second or two per
    # item; the server stays away for two minutes, and the job keeps trying at the last delay.
    start_celery_worker(concurrency=3, env=_worker_env("3,6"))
    world = OutageWorld(owner=User.objects.create_user("ops"), source=radicale, dest=spare_radicale, items=ITEMS)

    _outage(world, 120)

    _assert_everything_present_once_and_identical(world)
    assert world.figures.followup_runs >= 3
    print("\n".join(["", "2 minute outage:", *world.figures.lines()]))  # noqa: T201 - the figures, shown with a failure's captured output


def test_a_worker_stopped_with_sigterm_hands_its_run_back_to_the_queue_at_once(start_celery_worker, radicale):
    world_owner = User.objects.create_user("deployer")
    other = start_radicale()
    try:
        # Four batches of 100: the stop lands before the last one even on a loaded machine.
        world = OutageWorld(owner=world_owner, source=radicale, dest=other, items=400, modes=("copy",))
        first = start_celery_worker()
        [run] = world.start()
        world.wait_until_all_write([run], at_least=20)

        assert first.stop() == 0  # a warm shutdown, as on a deploy or Ctrl-C of `make run`

        stopped = SyncRun.objects.get(pk=run.pk)
        # Not "running" until the stale-run detector notices minutes later: queued right away.
        assert stopped.status == "queued" and 0 < stopped.progress_done < 400
        assert stopped.logs.filter(message__startswith="the worker is stopping").exists()

        start_celery_worker()
        finished = eventually(
            lambda: (r := SyncRun.objects.get(pk=run.pk)).status in ("completed", "failed") and r,
            timeout=180,
            what="the run to finish on the next worker",
        )
        assert finished.status == "completed" and finished.is_clean, finished.error
        assert (finished.created, finished.progress_done, finished.progress_total) == (400, 400, 400)
        assert finished.logs.filter(message__startswith="run resumed (attempt 2").exists()
        assert world.contents("copy", dest=True) == world.contents(dest=False)
    finally:
        other.stop()
