"""A studio's calsync a few weeks in, for the dashboard's tests and screenshots.

Three sync jobs (one running, one whose last run failed, one healthy and scheduled), a history of
runs, an open conflict, a failing account, a feed with an error, appointments waiting for
confirmation, and heartbeats from a worker and beat.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth.models import User
from django.utils import timezone

from accounts.models import Account
from booking.models import Appointment, Artist
from calsync.ops.models import Heartbeat
from feeds.models import IcsFeed
from jobs.models import Conflict, SyncJob, SyncRun
from jobs.schedules import sync_job_set_schedule


@dataclass
class DashboardWorld:
    owner: User
    migrate: SyncJob  # a run in progress
    nightly: SyncJob  # its last run failed
    contacts: SyncJob  # healthy, every 15 minutes
    running: SyncRun
    failed: SyncRun
    conflict: Conflict
    broken_account: Account
    feed: IcsFeed
    pending: Appointment


def _run(job: SyncJob, *, ago: timedelta, took: timedelta, status: str = "completed", **counts: int) -> SyncRun:
    finished = timezone.now() - ago
    run = SyncRun.objects.create(job=job, status=status, **counts)
    SyncRun.objects.filter(pk=run.pk).update(
        created_at=finished - took, started_at=finished - took, finished_at=finished
    )
    run.refresh_from_db()
    return run


def dashboard_world(owner: User | None = None) -> DashboardWorld:
    owner = owner or User.objects.create_user("studio", email="office@studio.test")
    now = timezone.now()

    def account(name: str, url: str, **fields: object) -> Account:
        return Account.objects.create(owner=owner, name=name, kind="caldav", url=url, username="office", **fields)

    carbonio = account("Carbonio", "https://mail.old-host.test/dav/")
    mailcow = account("Mailcow", "https://mail.studio.test/SOGo/dav/", last_check_ok=True)
    nextcloud = account(
        "Nextcloud",
        "https://cloud.studio.test/remote.php/dav/",
        last_check_ok=False,
        last_checked_at=now - timedelta(minutes=7),
        last_check_message="AuthError: 401 Unauthorized — the app password was revoked",
    )

    migrate = SyncJob.objects.create(
        owner=owner, name="Carbonio → Mailcow migration", source=carbonio, destination=mailcow
    )
    nightly = SyncJob.objects.create(
        owner=owner, name="Team calendars (two-way)", source=mailcow, destination=nextcloud, mode="two-way"
    )
    contacts = SyncJob.objects.create(
        owner=owner, name="Address books mirror", source=mailcow, destination=carbonio, mode="mirror"
    )
    sync_job_set_schedule(job=contacts, interval_minutes=15)
    sync_job_set_schedule(job=nightly, crontab="0 2 * * *")

    for index in range(14):
        _run(
            contacts,
            ago=timedelta(minutes=15 * (14 - index) + 1),
            took=timedelta(seconds=6 + (index * 7) % 23),
            created=(index * 5) % 9,
            updated=3 + (index * 11) % 17,
            deleted=index % 3,
            unchanged=1240,
            progress_done=1250,
            progress_total=1250,
        )
    for index in range(10):
        _run(
            nightly,
            ago=timedelta(days=10 - index, hours=1),
            took=timedelta(seconds=40 + (index * 13) % 50),
            status="failed" if index == 6 else "completed",
            created=4 + (index * 7) % 12,
            updated=10 + (index * 5) % 30,
            deleted=index % 4,
            unchanged=800,
            errors=3 if index == 6 else 0,
        )
    failed = _run(
        nightly,
        ago=timedelta(hours=2),
        took=timedelta(seconds=31),
        status="failed",
        created=2,
        updated=5,
        errors=1,
        error="AuthError: Nextcloud answered 401 Unauthorized for /remote.php/dav/calendars/office/",
    )
    for index in range(8):
        _run(
            migrate,
            ago=timedelta(days=3, hours=8 - index),
            took=timedelta(minutes=3 + index % 4),
            created=420 + index * 60,
            updated=index * 4,
            unchanged=index * 120,
            progress_done=420 + index * 184,
            progress_total=420 + index * 184,
        )
    running = SyncRun.objects.create(
        job=migrate,
        status="running",
        started_at=now - timedelta(minutes=4),
        heartbeat_at=now,
        created=612,
        updated=40,
        progress_done=652,
        progress_total=1480,
    )
    conflict = Conflict.objects.create(
        job=nightly, uid="standup-2026-12@studio.test", reason="changed on both sides since the last sync"
    )
    feed = IcsFeed.objects.create(
        owner=owner,
        path="studio/holidays",
        account=carbonio,
        last_error="TransientError: mail.old-host.test timed out after 20 s",
    )
    artist = Artist.objects.create(name="Mira Lenz", slug="mira", time_zone="Europe/Berlin")
    tomorrow = (now + timedelta(days=1)).replace(hour=13, minute=0, second=0, microsecond=0)
    pending = Appointment.objects.create(
        artist=artist,
        client_name="Jonas Weber",
        client_email="jonas@example.com",
        start=tomorrow,
        end=tomorrow + timedelta(hours=2),
        push_state="synced",
    )
    Appointment.objects.create(
        artist=artist,
        client_name="Lea Brandt",
        client_email="lea@example.com",
        start=tomorrow + timedelta(days=1),
        end=tomorrow + timedelta(days=1, hours=1),
        needs_review=True,
        push_state="synced",
    )
    Heartbeat.objects.create(name="worker@studio", kind="worker", seen_at=now)
    Heartbeat.objects.create(name="beat@studio", kind="beat", seen_at=now)
    return DashboardWorld(
        owner=owner,
        migrate=migrate,
        nightly=nightly,
        contacts=contacts,
        running=running,
        failed=failed,
        conflict=conflict,
        broken_account=nextcloud,
        feed=feed,
        pending=pending,
    )
