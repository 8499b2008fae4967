"""Runs that owe items, follow up by themselves, and tell the truth, on the ORM and real servers.

A source that cannot serve some items (a fault-injecting proxy in front of Radicale), an ICS
import whose calendar is down, a run paused at 200 of 336 objects and resumed, the follow-up
backoff and its sweep, and the run report in the API, as CSV and in the admin.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Account
from calsync.lib.items import extract_uid
from calsync.testing import samples
from calsync.testing.faults import FaultProxy
from calsync.testing.feeds import FeedServer
from calsync.testing.memory import MemoryConnector, MemoryServer
from calsync.testing.outage import dav
from calsync.testing.servers import start_radicale
from jobs.backoff import followup_delay, sync_job_schedule_followup
from jobs.followups import sync_followups_start_due
from jobs.models import OwedItem, SyncJob, SyncRun
from jobs.progress import RunProgress
from jobs.runner import sync_run_execute
from jobs.runs import sync_job_start, sync_run_resume
from jobs.schedules import sync_job_set_schedule

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(db) -> User:
    return User.objects.create_user(f"owner-{uuid.uuid4().hex[:6]}")


def account(owner: User, server, url: str = "") -> Account:
    return Account.objects.create(
        owner=owner, name=f"dav-{uuid.uuid4().hex[:6]}", kind="caldav", url=url or server.url,
        username=server.username, password=server.password,
    )  # fmt: skip


def source_calendar(server, count: int, *, offset: int = 0):
    connector = dav(server)
    collection = connector.create_collection(
        name=f"Cal {uuid.uuid4().hex[:6]}", kind="calendar", components=("VEVENT", "VTODO")
    )
    hrefs = [
        connector.put(collection, data, uid=extract_uid(data)).href
        for data in samples.calendar_objects(count + offset)[offset:]
    ]
    connector.close()
    return collection, hrefs


def dest_uids(server, name: str) -> list[str]:
    connector = dav(server)
    try:
        collection = next(c for c in connector.list_collections() if c.name == name)
        return sorted(
            extract_uid(i.data) for i in connector.fetch(collection, list(connector.list_items(collection).items))
        )
    finally:
        connector.close()


def run_now(job: SyncJob, **kwargs) -> SyncRun:
    return sync_run_execute(sync_job_start(job=job, enqueue=False, **kwargs).pk)


def follow_up(job: SyncJob, django_capture_on_commit_callbacks) -> SyncRun:
    """What beat's sweep does once the retry time has come (the task runs in-process here)."""
    job.refresh_from_db()
    assert job.retry_at is not None
    with django_capture_on_commit_callbacks(execute=True):
        [run_id] = sync_followups_start_due(now=job.retry_at)
    return SyncRun.objects.get(pk=run_id)


@pytest.mark.parametrize("mode", ["500", "drop"])
def test_items_the_source_cannot_serve_are_owed_reported_and_land_in_the_follow_up(
    mode, owner, radicale, xandikos, eager_tasks, django_capture_on_commit_callbacks
):
    collection, hrefs = source_calendar(radicale, 12)
    proxy = FaultProxy(radicale.url, failing={hrefs[3], hrefs[8]}, mode=mode).start()
    try:
        job = SyncJob.objects.create(
            owner=owner, name="reads", source=account(owner, radicale, proxy.url),
            destination=account(owner, xandikos), sync_contacts=False,
            collection_map={collection.url.replace(radicale.url, proxy.url): ""},
        )  # fmt: skip

        first = run_now(job)

        assert first.status == "completed" and first.owed == 2 and not first.is_clean
        assert first.state == "completed-with-owed-items"
        owed = {item.href: item for item in OwedItem.objects.filter(job=job)}
        assert set(owed) == {hrefs[3], hrefs[8]}
        assert all("could not be read" in item.reason and item.state == "owed" for item in owed.values())
        assert len(dest_uids(xandikos, collection.name)) == 10

        api = APIClient()
        api.force_authenticate(owner)
        report = api.get(f"/api/sync-runs/{first.pk}/report").json()
        assert {item["href"] for item in report["items"]} == {hrefs[3], hrefs[8]}
        assert report["collections"][0]["created"] == 10 and report["owed"] == 2
        rows = list(csv.DictReader(io.StringIO(api.get(f"/api/sync-runs/{first.pk}/report.csv").content.decode())))
        assert {row["href"] for row in rows if row["record"] == "item"} == {hrefs[3], hrefs[8]}
        listed = api.get(f"/api/sync-jobs/{job.pk}/owed").json()
        assert listed["count"] == 2
        job_data = api.get(f"/api/sync-jobs/{job.pk}").json()
        assert job_data["owed_items"] == {"owed": 2, "needs_attention": 0} and job_data["retry_at"]
        assert job_data["state"] == "completed-with-owed-items"
        # The dry run plans them again although no listing since names them as changed.
        [plan] = api.post(f"/api/sync-jobs/{job.pk}/dry-run", {}, format="json").json()
        assert plan["counts"] == {"create-destination": 2}

        proxy.failing = set()
        second = follow_up(job, django_capture_on_commit_callbacks)
    finally:
        proxy.stop()

    second.refresh_from_db()
    assert second.trigger == "followup" and second.status == "completed" and second.is_clean
    assert second.created == 2
    assert not OwedItem.objects.filter(job=job).exists()
    assert dest_uids(xandikos, collection.name) == sorted(extract_uid(d) for d in samples.calendar_objects(12))
    job.refresh_from_db()
    assert job.retry_at is None and job.retry_step == 0


def test_an_ics_import_whose_calendar_is_down_lands_everything_once_it_is_back(
    owner, eager_tasks, django_capture_on_commit_callbacks
):
    events = "".join(
        f"BEGIN:VEVENT\r\nUID:feed-{n}@x\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:2030010{n % 9 + 1}T090000Z\r\n"
        f"DURATION:PT1H\r\nSUMMARY:Feed {n}\r\nEND:VEVENT\r\n"
        for n in range(15)
    )
    calendar = start_radicale()
    try:
        with FeedServer(body=f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\n{events}END:VCALENDAR\r\n".encode()) as feed:
            source = Account.objects.create(owner=owner, name="Club feed", kind="ics", url=feed.url())
            job = SyncJob.objects.create(
                owner=owner, name="import", source=source, destination=account(owner, calendar)
            )
            calendar.halt()

            down = run_now(job)

            assert down.status == "failed" and "did not answer" in down.error
            job.refresh_from_db()
            assert job.retry_at is not None and job.retry_step == 1

            calendar.restart()
            back = follow_up(job, django_capture_on_commit_callbacks)
        back.refresh_from_db()
        assert back.trigger == "followup" and back.status == "completed" and back.is_clean, back.error
        assert dest_uids(calendar, "Club feed") == sorted(f"feed-{n}@x" for n in range(15))
    finally:
        calendar.stop()


class PauseAt200(RunProgress):
    """Asks for a pause once 200 steps are done, and records what the run page would show."""

    seen: list[tuple[int, int, str]] = []

    def checkpoint(self) -> bool:
        self.flush()
        run = SyncRun.objects.get(pk=self.run.pk)
        if run.progress_done >= 200 and run.attempts == 1 and not run.pause_requested:
            SyncRun.objects.filter(pk=run.pk).update(pause_requested=True)
            run.refresh_from_db()
        PauseAt200.seen.append((run.progress_done, run.progress_total, run.state))
        return super().checkpoint()


def test_a_migration_paused_at_200_of_336_and_resumed_reports_created_336(owner, radicale, monkeypatch):
    # The whole runner on the ORM, with in-memory servers behind the connector seam: 336 objects
    # through two real servers cost a minute, and the counters are what is under test here.
    source_server, dest_server = MemoryServer("src"), MemoryServer("dst")
    collection = source_server.add_collection("Work")
    for data in samples.calendar_objects(336):
        source_server.store(collection.url, f"{collection.url}{extract_uid(data)}.ics", data)
    job = SyncJob.objects.create(
        owner=owner, name="pause", source=account(owner, radicale), destination=account(owner, radicale),
        sync_contacts=False, collection_map={collection.url: ""},
    )  # fmt: skip
    servers = {job.source_id: source_server, job.destination_id: dest_server}
    monkeypatch.setattr(
        "jobs.engines.dav.dav_connector", lambda account, kind, **options: MemoryConnector(servers[account.pk])
    )
    PauseAt200.seen = []

    paused = sync_run_execute(sync_job_start(job=job, enqueue=False).pk, progress_class=PauseAt200)
    assert paused.status == "paused" and paused.created == 200 and paused.progress_total == 336
    assert "pausing" in {state for _, _, state in PauseAt200.seen}

    sync_run_resume(run=paused)
    resumed = sync_run_execute(paused.pk, progress_class=PauseAt200)

    assert resumed.status == "completed" and resumed.is_clean
    assert (resumed.created, resumed.unchanged, resumed.progress_done, resumed.progress_total) == (336, 0, 336, 336)
    assert resumed.report["collections"][collection.url]["created"] == 336
    assert resumed.logs.filter(message__startswith="run resumed (attempt 2").exists()
    assert len(dest_server.uids(next(iter(dest_server.collections)))) == 336
    done = [d for d, _, _ in PauseAt200.seen]
    totals = [t for _, t, _ in PauseAt200.seen]
    assert done == sorted(done) and totals == sorted(totals) and totals[0] == 336  # never backwards


def test_follow_ups_back_off_then_keep_the_last_delay_or_leave_it_to_the_schedule(owner, radicale, settings):
    settings.CALSYNC_FOLLOWUP_BACKOFF = [60, 300, 900]
    job = SyncJob.objects.create(
        owner=owner, name="backoff", source=account(owner, radicale), destination=account(owner, radicale)
    )
    delays = []
    for _ in range(5):
        before = timezone.now()
        retry_at = sync_job_schedule_followup(job=job)
        delays.append(round((retry_at - before).total_seconds() / 60))
    assert delays == [1, 5, 15, 15, 15]

    sync_job_set_schedule(job=job, interval_minutes=30)
    job.refresh_from_db()
    assert followup_delay(job, 1) == 300 and followup_delay(job, 3) is None


def test_the_sweep_starts_due_follow_ups_once_and_leaves_the_others(owner, radicale):
    due = SyncJob.objects.create(
        owner=owner, name="due", source=account(owner, radicale), destination=account(owner, radicale),
        retry_at=timezone.now() - dt.timedelta(seconds=1),
    )  # fmt: skip
    later = SyncJob.objects.create(
        owner=owner, name="later", source=due.source, destination=due.destination,
        retry_at=timezone.now() + dt.timedelta(minutes=5),
    )  # fmt: skip
    busy = SyncJob.objects.create(
        owner=owner, name="busy", source=due.source, destination=due.destination,
        retry_at=timezone.now() - dt.timedelta(seconds=1),
    )  # fmt: skip
    sync_job_start(job=busy, enqueue=False)

    started = sync_followups_start_due()

    assert [SyncRun.objects.get(pk=pk).job for pk in started] == [due]
    assert SyncRun.objects.get(pk=started[0]).trigger == "followup"
    assert sync_followups_start_due() == []  # taken once
    for job in (due, later, busy):
        job.refresh_from_db()
    assert due.retry_at is None and later.retry_at is not None and busy.retry_at is None


def test_the_admin_shows_the_run_report_the_owed_items_and_retries_them(admin_client, owner, radicale):
    job = SyncJob.objects.create(
        owner=owner, name="admin", source=account(owner, radicale), destination=account(owner, radicale)
    )
    run = SyncRun.objects.create(
        job=job, status="completed", created=3, owed=1, needs_attention=1,
        report={"collections": {"/a/": {"name": "Work", "destination": "/b/", "created": 3}}},
    )  # fmt: skip
    OwedItem.objects.create(
        job=job, source_collection="/a/", href="/a/x.ics", uid="x", summary="=HYPERLINK(1)", operation="create",
        reason="The server refused /a/x.ics (403)", state="needs_attention", attempts=3, run=run,
    )  # fmt: skip

    page = admin_client.get(f"/admin/jobs/syncrun/{run.pk}/change/").content.decode()
    assert "completed-with-owed-items" in page and "The server refused /a/x.ics (403)" in page and "Work" in page
    download = admin_client.get(f"/admin/jobs/syncrun/{run.pk}/report.csv")
    assert download["Content-Type"].startswith("text/csv") and "'=HYPERLINK(1)" in download.content.decode()
    assert "/a/x.ics" in admin_client.get("/admin/jobs/oweditem/").content.decode()
    assert "1 owed" not in admin_client.get("/admin/jobs/syncjob/").content.decode()

    admin_client.post("/admin/jobs/oweditem/", {"action": "retry_now", "_selected_action": [OwedItem.objects.get().pk]})
    item = OwedItem.objects.get()
    job.refresh_from_db()
    assert item.state == "owed" and item.attempts == 0 and job.retry_at is not None
