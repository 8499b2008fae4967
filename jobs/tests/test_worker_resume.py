"""A worker killed with SIGKILL in the middle of a run: the run is resumed and loses nothing."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth.models import User

from accounts.connectors import connector_for
from accounts.connectors.base import AccountConfig
from accounts.models import Account
from calsync.lib.items import extract_uid
from calsync.testing import samples
from calsync.testing.workers import eventually
from jobs.models import SyncJob, SyncRun
from jobs.runs import sync_job_start, sync_runs_recover

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.broker]

ITEMS = 400


def test_a_run_whose_worker_is_killed_resumes_on_another_worker_without_loss_or_duplicates(
    start_celery_worker, radicale, xandikos, settings
):
    owner = User.objects.create_user("ops")
    name = f"Kill {uuid.uuid4().hex[:6]}"
    source_dav = connector_for(
        AccountConfig(kind="caldav", url=radicale.url, username=radicale.username, password=radicale.password)
    )
    collection = source_dav.create_collection(name=name, kind="calendar", components=("VEVENT", "VTODO"))
    objects = samples.calendar_objects(ITEMS)
    for data in objects:
        source_dav.put(collection, data, uid=extract_uid(data))
    job = SyncJob.objects.create(
        owner=owner,
        name="kill",
        source=Account.objects.create(
            owner=owner, name="r", kind="caldav", url=radicale.url, username=radicale.username, password="s3cret-pass"
        ),
        destination=Account.objects.create(owner=owner, name="x", kind="caldav", url=xandikos.url),
        sync_contacts=False,
        collection_map={collection.url: ""},
    )
    first = start_celery_worker()

    run = sync_job_start(job=job)
    eventually(lambda: SyncRun.objects.get(pk=run.pk).progress_done >= 100, timeout=120, what="the first batches")
    first.kill()
    killed_at = SyncRun.objects.get(pk=run.pk)
    assert killed_at.status == "running" and killed_at.progress_done < ITEMS

    start_celery_worker()
    settings.CALSYNC_RUN_STALE_SECONDS = 2
    eventually(sync_runs_recover, timeout=30, what="the dead run to be noticed")
    finished = eventually(
        lambda: (r := SyncRun.objects.get(pk=run.pk)).status in ("completed", "failed") and r,
        timeout=180,
        what="the run to finish",
    )

    assert finished.status == "completed", finished.error
    assert finished.attempts == 2
    dest = connector_for(AccountConfig(kind="caldav", url=xandikos.url))
    dest_collection = next(c for c in dest.list_collections() if c.name == name)
    listing = dest.list_items(dest_collection)
    uids = [extract_uid(item.data) for item in dest.fetch(dest_collection, list(listing.items))]
    assert len(uids) == ITEMS
    assert sorted(uids) == sorted(extract_uid(data) for data in objects)
