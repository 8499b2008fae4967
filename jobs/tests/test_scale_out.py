"""Several workers on several machines: nothing assumes one process.

Claims, write slots and recovery live in the database, so two real workers (two machines, as far
as calsync can tell) migrate an organisation at once; one is killed mid-migration and the other
finishes, every item landing exactly once, never more writes in flight at the destination server
than its cap. The servers are latency servers (``calsync.testing.latency_dav``): each answer waits
a few milliseconds, like a remote server, and costs the test machine nothing.
Figures: ``bench/org_bench.py``.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from calsync.testing.latency_dav import LatencyDavServer
from calsync.testing.organisation import Organisation
from calsync.testing.workers import eventually
from jobs.models import SyncRun, WriteSlot
from jobs.progress import RunProgress
from jobs.runner import sync_run_claim, sync_run_execute, write_slot
from jobs.runs import sync_job_start, sync_runs_recover

CAP = 2


@pytest.fixture
def servers():
    source, dest = LatencyDavServer(delay=0.003).start(), LatencyDavServer(delay=0.003).start()
    yield source, dest
    source.stop()
    dest.stop()


def _organisation(servers, *, users: int, objects: int) -> Organisation:
    source, dest = servers
    return Organisation(User.objects.create_user("it"), source, dest, users=users, objects=objects).create()


@pytest.mark.django_db
def test_a_write_slot_left_by_a_dead_attempt_of_the_same_run_does_not_count_against_it(servers, settings):
    settings.CALSYNC_WRITES_PER_SERVER = 1
    [job] = _organisation(servers, users=1, objects=1).jobs
    run = SyncRun.objects.create(job=job, status="running", heartbeat_at=timezone.now(), attempts=2)
    # The first attempt's worker was killed holding the slot; the run was recovered and claimed again.
    WriteSlot.objects.create(host="dav.example", slot=0, run=run)

    with write_slot("dav.example", run):
        assert list(WriteSlot.objects.values_list("run", flat=True)) == [run.pk]

    assert not WriteSlot.objects.exists()


@pytest.mark.django_db
def test_a_run_that_bounced_off_a_full_server_and_lost_its_retry_with_its_worker_is_sent_again(
    servers, eager_tasks, django_capture_on_commit_callbacks
):
    org = _organisation(servers, users=2, objects=30)
    long_ago = timezone.now() - dt.timedelta(hours=1)
    # Bounced (no write slot) an hour ago; its countdown message died in a killed worker's memory.
    lost = SyncRun.objects.create(job=org.jobs[0], status="queued", worker="gone@host", heartbeat_at=long_ago)
    # Never claimed, waiting its turn in the broker: not sent twice.
    waiting = SyncRun.objects.create(job=org.jobs[1], status="queued")

    with django_capture_on_commit_callbacks(execute=True):
        assert sync_runs_recover() == [lost.pk]

    lost.refresh_from_db()
    assert (lost.status, lost.created) == ("completed", 30), lost.error
    assert SyncRun.objects.get(pk=waiting.pk).status == "queued"
    assert not org.misplaced().get(org.user(0))


@pytest.mark.django_db
def test_a_run_that_beats_only_per_batch_also_beats_between_them_on_a_slow_server(servers, settings):
    settings.CALSYNC_HEARTBEAT_SECONDS = 0  # the interval has passed: every item beats
    [job] = _organisation(servers, users=1, objects=1).jobs
    long_ago = timezone.now() - dt.timedelta(hours=1)
    run = SyncRun.objects.create(job=job, status="running", heartbeat_at=long_ago, attempts=1)
    progress = RunProgress(run)

    progress.count(done=1)  # mid-batch: nothing flushed yet

    beaten = SyncRun.objects.get(pk=run.pk).heartbeat_at
    assert beaten is not None and beaten > long_ago


class TakenForDeadAtFirstCheckpoint(RunProgress):
    """The first batch outlasted the stale time: the sweep queued the run and another worker claimed it."""

    def count(self, **counters: int) -> None:
        super().count(**counters)
        # As the batch's last item is applied, before its checkpoint: another worker's claim is
        # its own committed transaction, not part of the batch's.
        if self.attempt == 1 and self.counters.get("done") == 100 and "done" in counters:
            SyncRun.objects.filter(pk=self.run.pk).update(status="queued")
            sync_run_claim(self.run.pk, "new@host")


@pytest.mark.django_db
def test_an_attempt_whose_run_was_claimed_again_elsewhere_stops_and_leaves_the_run_to_it(servers):
    org = _organisation(servers, users=1, objects=250)
    run = sync_job_start(job=org.jobs[0], enqueue=False)

    assert sync_run_execute(run.pk, progress_class=TakenForDeadAtFirstCheckpoint, worker="old@host") is None

    run.refresh_from_db()
    # The new attempt's row as it claimed it: the old one wrote no counters, no status over it.
    assert (run.status, run.worker, run.attempts, run.progress_done) == ("running", "new@host", 2, 0)
    _source, dest = servers
    assert len(dest.creates) == 100  # its first batch, and not one write after it


@pytest.mark.postgres
@pytest.mark.broker
@pytest.mark.django_db(transaction=True)
def test_two_workers_migrate_an_organisation_and_one_killed_midway_loses_and_repeats_nothing(
    start_celery_worker, servers, settings
):
    _source, dest = servers
    org = _organisation(servers, users=4, objects=200)
    env = {"CALSYNC_WRITES_PER_SERVER": str(CAP)}
    doomed = start_celery_worker(concurrency=2, env=env)
    start_celery_worker(concurrency=2, env=env)  # the survivor
    dest.reset_counters()

    runs = org.start()

    def doomed_is_mid_run() -> bool:
        return SyncRun.objects.filter(
            pk__in=[r.pk for r in runs], worker=doomed.nodename, status="running", progress_done__gte=100
        ).exists()

    eventually(doomed_is_mid_run, timeout=60, what="the doomed worker to be mid-run")
    doomed.kill()
    killed = SyncRun.objects.filter(worker=doomed.nodename, status="running").values_list("pk", flat=True)
    assert killed  # caught with work in hand
    # What the sweep takes for dead; live runs beat every second, and a starved one must not look dead.
    settings.CALSYNC_RUN_STALE_SECONDS = 10

    def finished() -> bool:
        sync_runs_recover()
        return org.finished()

    eventually(finished, timeout=90, what="every run to finish on the survivor")

    assert [r.status for r in org.runs()] == ["completed"] * 4
    # The counters cover the whole run across the kill: a batch's links and counts commit together.
    assert [r.created + r.unchanged for r in org.runs()] == [200] * 4
    assert all(r.attempts >= 2 for r in org.runs() if r.pk in killed)  # resumed (a bounce off the cap claims too)
    assert org.misplaced() == {}
    # Exactly once: one successful create per object, none repeated by the resumed runs.
    assert len(dest.creates) == org.items and set(dest.creates.values()) == {1}
    assert 1 <= dest.peak_writes <= CAP
    assert not WriteSlot.objects.exists()
