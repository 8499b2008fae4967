"""ICS import into a real Radicale calendar, through the normal runner."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth.models import User

from accounts.connectors import connector_for
from accounts.connectors.base import AccountConfig
from accounts.models import Account
from calsync.lib.items import extract_uid
from calsync.testing.feeds import FeedServer
from jobs.engines.ics_import import past_own_writes
from jobs.models import CollectionCursor, SyncJob, SyncRun
from jobs.reconcile.pair import LinkRecord
from jobs.runner import sync_run_execute

pytestmark = pytest.mark.django_db


def feed(*bodies: str) -> bytes:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//Feed//EN\r\n" + "".join(bodies) + "END:VCALENDAR\r\n"
    ).encode()


def event(
    uid: str,
    summary: str = "Meeting",
    *,
    start: str = "20300101T090000Z",
    extra: str = "",
    stamp: str = "20260101T000000Z",
) -> str:
    return (
        f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:{stamp}\r\nDTSTART:{start}\r\nDURATION:PT1H\r\n"
        f"SUMMARY:{summary}\r\n{extra}END:VEVENT\r\n"
    )


@pytest.fixture
def owner(db) -> User:
    return User.objects.create_user(f"owner-{uuid.uuid4().hex[:6]}")


@pytest.fixture
def feed_server():
    with FeedServer() as server:
        yield server


def caldav(owner: User, radicale) -> Account:
    return Account.objects.create(
        owner=owner,
        name=f"dav-{uuid.uuid4().hex[:6]}",
        kind="caldav",
        url=radicale.url,
        username=radicale.username,
        password=radicale.password,
    )


def import_job(owner: User, radicale, url: str, *, name: str = "", dest: Account | None = None, **options) -> SyncJob:
    source = Account.objects.create(owner=owner, name=name or f"Feed {uuid.uuid4().hex[:6]}", kind="ics", url=url)
    return SyncJob.objects.create(
        owner=owner, name=f"import {source.name}", source=source, destination=dest or caldav(owner, radicale), **options
    )


def run(job: SyncJob, **kwargs) -> SyncRun:
    created = SyncRun.objects.create(job=job, status=SyncRun.Status.QUEUED, **kwargs)
    return sync_run_execute(created.pk)


def calendar(radicale, name: str) -> dict[str, bytes]:
    dav = connector_for(
        AccountConfig(kind="caldav", url=radicale.url, username=radicale.username, password=radicale.password)
    )
    try:
        collection = next(c for c in dav.list_collections() if c.name == name)
        listing = dav.list_items(collection)
        return {extract_uid(item.data): item.data for item in dav.fetch(collection, list(listing.items))}
    finally:
        dav.close()


def calendar_url(radicale, name: str) -> str:
    dav = connector_for(
        AccountConfig(kind="caldav", url=radicale.url, username=radicale.username, password=radicale.password)
    )
    try:
        return next(c.url for c in dav.list_collections() if c.name == name)
    finally:
        dav.close()


def put_by_hand(radicale, name: str, data: bytes) -> None:
    dav = connector_for(
        AccountConfig(kind="caldav", url=radicale.url, username=radicale.username, password=radicale.password)
    )
    collection = next(c for c in dav.list_collections() if c.name == name)
    dav.put(collection, data, uid=extract_uid(data))
    dav.close()


def counters(run_: SyncRun) -> dict[str, int]:
    return {name: getattr(run_, name) for name in ("created", "updated", "deleted", "errors")}


def test_the_first_import_creates_the_calendar_and_a_rerun_writes_nothing(owner, radicale, feed_server):
    feed_server.body = feed(event("a@f"), event("b@f", extra="RRULE:FREQ=WEEKLY\r\n"))
    job = import_job(owner, radicale, feed_server.url())
    first = run(job)
    assert first.status == "completed", first.error
    assert counters(first) == {"created": 2, "updated": 0, "deleted": 0, "errors": 0}
    assert set(calendar(radicale, job.source.name)) == {"a@f", "b@f"}
    # DTSTAMP and SEQUENCE churn on every download must not cause writes.
    feed_server.body = feed(
        event("a@f", stamp="20270101T000000Z", extra="SEQUENCE:3\r\n"), event("b@f", extra="RRULE:FREQ=WEEKLY\r\n")
    )
    again = run(job)
    assert again.status == "completed" and counters(again) == {"created": 0, "updated": 0, "deleted": 0, "errors": 0}
    # Byte-identical feed: the host answers 304 and nothing at all is compared.
    assert counters(run(job)) == {"created": 0, "updated": 0, "deleted": 0, "errors": 0}


def test_after_an_import_the_calendars_token_is_past_the_imports_own_writes(owner, radicale, feed_server):
    feed_server.body = feed(event("a@f"), event("b@f"))
    job = import_job(owner, radicale, feed_server.url())
    run(job)
    url = calendar_url(radicale, job.source.name)
    token = CollectionCursor.objects.get(job=job, url=url).sync_token
    dav = connector_for(job.destination.connector_config())
    try:
        [collection] = [c for c in dav.list_collections() if c.url == url]
        # The next run's delta names nothing: it need not re-list the two events it wrote.
        delta = dav.list_items(collection, sync_token=token)
    finally:
        dav.close()
    assert not delta.complete and delta.items == {} and not delta.deleted


def test_a_token_stays_where_it_was_when_someone_elses_change_shows_in_the_delta(owner, radicale):
    dav = connector_for(
        AccountConfig(kind="caldav", url=radicale.url, username=radicale.username, password=radicale.password)
    )
    try:
        collection = dav.create_collection(name=f"Mixed {uuid.uuid4().hex[:6]}", kind="calendar")
        listed = dav.list_items(collection).sync_token
        ours = dav.put(collection, feed(event("ours@f")), uid="ours@f")
        written = [LinkRecord("feed#ours@f", ours.href, collection.url, dest_etag=ours.etag)]

        def advanced() -> str:
            tokens = past_own_writes(
                dest=dav, collections=[collection], tokens={collection.url: listed}, before=[], after=written
            )
            return tokens[collection.url]

        only_ours = advanced()
        assert only_ours != listed
        dav.put(collection, feed(event("hand@me", summary="Dentist")), uid="hand@me")
        assert advanced() == listed  # the hand-made event must reach the next run's delta
    finally:
        dav.close()


def test_an_edited_event_is_updated_and_a_removed_one_deleted(owner, radicale, feed_server):
    feed_server.body = feed(event("a@f"), event("b@f"))
    job = import_job(owner, radicale, feed_server.url())
    run(job)
    feed_server.body = feed(event("a@f", summary="Moved to Friday"))
    second = run(job)
    assert counters(second) == {"created": 0, "updated": 1, "deleted": 1, "errors": 0}
    items = calendar(radicale, job.source.name)
    assert list(items) == ["a@f"] and b"SUMMARY:Moved to Friday" in items["a@f"]


def test_keep_local_keeps_events_the_feed_dropped(owner, radicale, feed_server):
    feed_server.body = feed(event("a@f"), event("b@f"))
    job = import_job(owner, radicale, feed_server.url(), keep_local=True)
    run(job)
    feed_server.body = feed(event("a@f"))
    assert counters(run(job))["deleted"] == 0
    assert set(calendar(radicale, job.source.name)) == {"a@f", "b@f"}


def test_an_event_dropped_while_keep_local_was_on_is_deleted_once_keep_local_is_off(owner, radicale, feed_server):
    feed_server.body = feed(event("a@f"), event("b@f"))
    job = import_job(owner, radicale, feed_server.url(), keep_local=True)
    run(job)
    feed_server.body = feed(event("a@f"))
    run(job)
    assert set(calendar(radicale, job.source.name)) == {"a@f", "b@f"}

    SyncJob.objects.filter(pk=job.pk).update(keep_local=False)
    mirrored = run(job)

    assert counters(mirrored) == {"created": 0, "updated": 0, "deleted": 1, "errors": 0}
    assert set(calendar(radicale, job.source.name)) == {"a@f"}


@pytest.mark.parametrize(("keep_local", "mode"), [(False, "mirror"), (True, "copy")])
def test_the_import_log_names_the_mode_it_runs_in(owner, radicale, feed_server, keep_local, mode):
    feed_server.body = feed(event("a@f"))
    job = import_job(owner, radicale, feed_server.url(), keep_local=keep_local, mode="copy")

    finished = run(job)

    messages = list(finished.logs.values_list("message", flat=True))
    assert any(f"ICS import as {mode}" in message for message in messages), messages


def test_hand_made_events_and_another_feeds_events_in_the_same_calendar_survive(owner, radicale, feed_server):
    dest = caldav(owner, radicale)
    with FeedServer() as other_server:
        feed_server.body = feed(event("one@f"))
        other_server.body = feed(event("two@f"))
        first = import_job(owner, radicale, feed_server.url(), name=f"Shared {uuid.uuid4().hex[:6]}", dest=dest)
        run(first)
        target = calendar_url(radicale, first.source.name)
        second = import_job(owner, radicale, other_server.url(), dest=dest, collection_map={other_server.url(): target})
        run(second)
        put_by_hand(radicale, first.source.name, feed(event("hand@me", summary="Dentist")))
        # Both feeds drop everything they had except a fresh event; mirror deletes only its own.
        feed_server.body = feed(event("one-b@f"))
        other_server.body = feed(event("two-b@f"))
        assert run(first).deleted == 1 and run(second).deleted == 1
    assert set(calendar(radicale, first.source.name)) == {"one-b@f", "two-b@f", "hand@me"}


def test_a_feed_that_suddenly_is_empty_fails_the_run_and_deletes_nothing(owner, radicale, feed_server):
    feed_server.body = feed(event("a@f"), event("b@f"))
    job = import_job(owner, radicale, feed_server.url())
    run(job)
    feed_server.body = feed()
    failed = run(job)
    assert failed.status == "failed" and "lists no events" in failed.error
    assert set(calendar(radicale, job.source.name)) == {"a@f", "b@f"}
    assert run(job, confirm_empty=True).deleted == 2


def test_an_html_error_page_fails_the_run_with_a_reason_and_deletes_nothing(owner, radicale, feed_server):
    feed_server.body = feed(event("a@f"))
    job = import_job(owner, radicale, feed_server.url())
    run(job)
    feed_server.body, feed_server.content_type = b"<html><body>Maintenance</body></html>", "text/html"
    failed = run(job)
    assert failed.status == "failed" and "not an iCalendar file" in failed.error and "HTML" in failed.error
    assert set(calendar(radicale, job.source.name)) == {"a@f"}


def test_a_feed_over_the_size_limit_is_refused(owner, radicale, feed_server, settings):
    settings.CALSYNC_FEED_MAX_BYTES = 2048
    feed_server.body = feed(*(event(f"{n}@f") for n in range(60)))
    failed = run(import_job(owner, radicale, feed_server.url()))
    assert failed.status == "failed" and "CALSYNC_FEED_MAX_BYTES" in failed.error


def test_sync_all_off_skips_past_events_but_keeps_a_running_series_that_began_long_ago(owner, radicale, feed_server):
    feed_server.body = feed(
        event("past@f", start="20200101T090000Z"),
        event("ended-series@f", start="20200101T090000Z", extra="RRULE:FREQ=DAILY;COUNT=3\r\n"),
        event("running-series@f", start="20200101T090000Z", extra="RRULE:FREQ=WEEKLY\r\n"),
        event("future@f", start="20300101T090000Z"),
    )
    job = import_job(owner, radicale, feed_server.url(), sync_all=False)
    assert run(job).status == "completed"
    assert set(calendar(radicale, job.source.name)) == {"running-series@f", "future@f"}


def test_an_item_the_calendar_refused_is_retried_even_when_the_feed_is_unchanged(owner, radicale, feed_server):
    # Radicale refuses an event whose start is not a date (400): an item error, not a failed run.
    feed_server.body = feed(event("a@f"), event("broken@f", start="soon"))
    job = import_job(owner, radicale, feed_server.url())
    first = run(job)
    assert first.status == "completed" and counters(first) == {"created": 1, "updated": 0, "deleted": 0, "errors": 1}
    # The feed is byte-identical: had its ETag been kept as the cursor, the host would answer 304
    # and the refused event would never be tried again.
    retried = run(job)
    assert feed_server.statuses[-1] == 200 and counters(retried)["errors"] == 1
    feed_server.body = feed(event("a@f"), event("broken@f"))
    fixed = run(job)
    assert counters(fixed) == {"created": 1, "updated": 0, "deleted": 0, "errors": 0}
    assert set(calendar(radicale, job.source.name)) == {"a@f", "broken@f"}
    # After a clean run the ETag is kept: the next run costs one 304.
    assert counters(run(job)) == {"created": 0, "updated": 0, "deleted": 0, "errors": 0}
    assert feed_server.statuses[-1] == 304


def test_an_import_is_set_up_and_started_through_the_api_with_a_webcal_url(
    owner, radicale, feed_server, django_capture_on_commit_callbacks
):
    from rest_framework.test import APIClient

    from calsync.celery import app

    api = APIClient()
    api.force_authenticate(owner)
    feed_server.body = feed(event("a@f"), event("b@f"))
    source = api.post(
        "/api/accounts",
        {"name": "School", "kind": "ics", "url": feed_server.url().replace("http://", "webcal://")},
        format="json",
    )
    assert source.status_code == 201, source.content
    created = api.post(
        "/api/sync-jobs",
        {
            "name": "school fixtures", "source": source.json()["id"], "destination": caldav(owner, radicale).pk,
            "mode": "mirror", "sync_contacts": False, "keep_local": True, "sync_all": False,
            "schedule": {"every_minutes": 60},
        },
        format="json",
    )  # fmt: skip
    assert created.status_code == 201, created.content
    job_id = created.json()["id"]
    app.conf.task_always_eager = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            assert api.post(f"/api/sync-jobs/{job_id}/start").status_code in (201, 202)
    finally:
        app.conf.task_always_eager = False
    job = api.get(f"/api/sync-jobs/{job_id}").json()
    assert job["status"] == "completed" and job["last_run"]["created"] == 2
    assert set(calendar(radicale, "School")) == {"a@f", "b@f"}
