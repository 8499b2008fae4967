"""Migration and sync between real servers: Radicale → Xandikos and back, through the runner."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth.models import User
from icalendar import Calendar

from accounts.connectors import connector_for
from accounts.connectors.base import AccountConfig, RemoteCollection
from accounts.models import Account
from calsync.lib.items import content_hash, extract_uid
from calsync.testing import samples
from jobs.models import CollectionCursor, ItemLink, SyncJob, SyncRun
from jobs.runner import sync_run_execute

pytestmark = pytest.mark.django_db

VOLATILE = {"DTSTAMP", "PRODID"}


def account(owner: User, server, name: str) -> Account:
    return Account.objects.create(
        owner=owner, name=name, kind="caldav", url=server.url, username=server.username, password=server.password
    )


def connector(server, kind: str = "caldav"):
    return connector_for(AccountConfig(kind=kind, url=server.url, username=server.username, password=server.password))


def fill(
    server, kind: str, name: str, objects: list[bytes], components=("VEVENT", "VTODO", "VJOURNAL")
) -> RemoteCollection:
    dav = connector(server, kind)
    collection = dav.create_collection(
        name=name, kind="calendar" if kind == "caldav" else "addressbook", color="#ff8800", components=components
    )
    for data in objects:
        dav.put(collection, data, uid=extract_uid(data))
    dav.close()
    return collection


def contents(server, kind: str, name: str) -> dict[str, bytes]:
    dav = connector(server, kind)
    collection = next(c for c in dav.list_collections() if c.name == name)
    listing = dav.list_items(collection)
    items = {extract_uid(item.data): item.data for item in dav.fetch(collection, list(listing.items))}
    dav.close()
    return items


def semantic(data: bytes) -> list:
    """Every component's properties with their parameters, minus what servers rewrite."""

    def prop(name: str, value) -> tuple:
        params = sorted(getattr(value, "params", {}).items())
        return name, value.to_ical() if hasattr(value, "to_ical") else value, params

    return sorted(
        (component.name, sorted(prop(n, v) for n, v in component.property_items(recursive=False) if n not in VOLATILE))
        for component in Calendar.from_ical(data).walk()
    )


def job_for(owner: User, source_server, dest_server, *collections: RemoteCollection, **options) -> SyncJob:
    """A job from an account on one server to an account on the other, limited to ``collections``
    (the servers are shared by the whole session and hold other tests' collections too)."""
    return SyncJob.objects.create(
        owner=owner,
        source=account(owner, source_server, "source"),
        destination=account(owner, dest_server, "destination"),
        collection_map={collection.url: "" for collection in collections},
        **options,
    )


def run_job(job: SyncJob, **kwargs) -> SyncRun:
    run = SyncRun.objects.create(job=job, status=SyncRun.Status.QUEUED, **kwargs)
    return sync_run_execute(run.pk)


@pytest.fixture
def owner(db) -> User:
    return User.objects.create_user("owner")


def test_a_migration_copies_calendars_tasks_and_contacts_losing_nothing(owner, radicale, xandikos):
    name = f"Work {uuid.uuid4().hex[:6]}"
    book = f"People {uuid.uuid4().hex[:6]}"
    objects = [*samples.calendar_objects(24), samples.journal(1)]
    cards = samples.contacts(60)
    calendar = fill(radicale, "caldav", name, objects)
    addressbook = fill(radicale, "carddav", book, cards)
    job = job_for(owner, radicale, xandikos, calendar, addressbook, name="migrate", mode="mirror")

    run = run_job(job)

    assert run.status == "completed", run.error
    assert (run.created, run.errors) == (len(objects) + len(cards), 0)
    copied = contents(xandikos, "caldav", name)
    original = contents(radicale, "caldav", name)
    assert set(copied) == set(original)
    for uid, data in original.items():
        assert semantic(copied[uid]) == semantic(data), uid
    copied_cards = contents(xandikos, "carddav", book)
    original_cards = contents(radicale, "carddav", book)
    assert {uid: content_hash(data) for uid, data in copied_cards.items()} == {
        uid: content_hash(data) for uid, data in original_cards.items()
    }
    assert b"X-ADDRESSBOOKSERVER-KIND:group" in copied_cards["group-49@calsync.test"]
    assert b"PHOTO;ENCODING=b;TYPE=JPEG:" in copied_cards["card3-1@calsync.test"].replace(b"\r\n ", b"")
    dest_calendar = next(c for c in connector(xandikos).list_collections() if c.name == name)
    assert dest_calendar.color.lower().startswith("#ff8800")


def test_a_second_run_with_nothing_changed_writes_nothing_and_a_change_is_carried_over(owner, radicale, xandikos):
    name = f"Inc {uuid.uuid4().hex[:6]}"
    source = fill(radicale, "caldav", name, [samples.timed_event(n) for n in range(10)])
    job = job_for(owner, radicale, xandikos, source, name="inc", mode="mirror", sync_contacts=False)
    run_job(job)

    again = run_job(job)
    assert (again.created, again.updated, again.deleted, again.unchanged) == (0, 0, 0, 10)

    dav = connector(radicale)
    listing = dav.list_items(source)
    first, second = sorted(listing.items)[:2]
    item = next(dav.fetch(source, [first]))
    dav.put(source, item.data.replace(b"Standup", b"Retro"), href=first, etag=item.etag)
    dav.delete(second, etag=listing.items[second])

    changed = run_job(job)

    assert (changed.created, changed.updated, changed.deleted) == (0, 1, 1)
    copied = contents(xandikos, "caldav", name)
    assert len(copied) == 9
    assert b"SUMMARY:Retro" in copied[extract_uid(item.data)]
    assert ItemLink.objects.filter(job=job).count() == 9


def test_copying_onto_a_server_that_already_has_the_items_links_them_instead_of_duplicating(owner, radicale, xandikos):
    name = f"Again {uuid.uuid4().hex[:6]}"
    objects = [samples.recurring_event(n) for n in range(6)]
    source = fill(radicale, "caldav", name, objects)
    fill(xandikos, "caldav", name, objects[:4])
    job = job_for(owner, radicale, xandikos, source, name="again", sync_contacts=False)

    run = run_job(job)

    assert (run.created, run.unchanged) == (2, 4)
    assert len(contents(xandikos, "caldav", name)) == 6


def test_a_wrong_password_fails_the_run_with_a_clear_reason_and_flags_the_account(owner, radicale, xandikos):
    source = account(owner, radicale, "r")
    source.password = "wrong"
    source.save()
    job = SyncJob.objects.create(owner=owner, name="bad", source=source, destination=account(owner, xandikos, "x"))

    run = run_job(job)

    assert run.status == "failed"
    assert "password" in run.error.lower()
    assert "wrong" not in run.error
    source.refresh_from_db()
    assert source.last_check_ok is False


def test_an_unreachable_destination_fails_the_run_and_says_so(owner, radicale, settings):
    settings.CALSYNC_HTTP_TIMEOUT = 1
    settings.CALSYNC_HTTP_RETRIES = 0
    dead = Account.objects.create(owner=owner, name="dead", kind="caldav", url="http://127.0.0.1:9/")
    name = f"Dead {uuid.uuid4().hex[:6]}"
    fill(radicale, "caldav", name, [samples.timed_event(1)])
    job = SyncJob.objects.create(owner=owner, name="dead", source=account(owner, radicale, "r"), destination=dead)

    run = run_job(job)

    assert run.status == "failed"
    assert "127.0.0.1:9" in run.error


def test_two_way_carries_edits_both_ways(owner, radicale, xandikos):
    name = f"Both {uuid.uuid4().hex[:6]}"
    source = fill(radicale, "caldav", name, [samples.timed_event(n) for n in range(3)] + [samples.task(1)])
    job = job_for(owner, radicale, xandikos, source, name="both", mode="two-way", sync_contacts=False)
    run_job(job)
    dest = connector(xandikos)
    collection = next(c for c in dest.list_collections() if c.name == name)
    dest.put(collection, samples.floating_event(7), uid="floating-7@calsync.test")
    listing = dest.list_items(collection)
    task = next(item for item in dest.fetch(collection, list(listing.items)) if b"VTODO" in item.data)
    task_href = task.href
    dest.put(collection, task.data.replace(b"STATUS:IN-PROCESS", b"STATUS:COMPLETED"), href=task_href, etag=task.etag)

    run = run_job(job)

    assert (run.created, run.updated) == (1, 1)
    source_items = contents(radicale, "caldav", name)
    assert "floating-7@calsync.test" in source_items
    assert b"STATUS:COMPLETED" in source_items["task-1@calsync.test"]


def test_tasks_go_to_a_separate_calendar_when_the_destination_calendar_only_takes_events(owner, radicale, xandikos):
    name = f"Mixed {uuid.uuid4().hex[:6]}"
    source = fill(radicale, "caldav", name, [samples.timed_event(1), samples.task(2)])
    fill(xandikos, "caldav", name, [], components=("VEVENT",))
    job = job_for(owner, radicale, xandikos, source, name="split", sync_contacts=False)

    run = run_job(job)

    assert run.status == "completed", run.error
    assert list(contents(xandikos, "caldav", name)) == ["timed-1@calsync.test"]
    assert list(contents(xandikos, "caldav", f"{name} (tasks)")) == ["task-2@calsync.test"]


def test_contacts_only_job_reaches_address_books_through_a_caldav_account(owner, radicale, xandikos):
    book = f"Only {uuid.uuid4().hex[:6]}"
    addressbook = fill(radicale, "carddav", book, samples.contacts(3))
    source = account(owner, radicale, "r")
    job = SyncJob.objects.create(
        owner=owner,
        name="cards",
        source=source,
        destination=account(owner, xandikos, "x"),
        sync_calendars=False,
        collection_map={addressbook.url: ""},
    )

    run = run_job(job)

    assert source.kind == "caldav"
    assert run.status == "completed", run.error
    assert len(contents(xandikos, "carddav", book)) == 3


def test_a_malformed_object_is_logged_with_its_href_and_the_rest_is_copied(owner, radicale, xandikos):
    name = f"Messy {uuid.uuid4().hex[:6]}"
    zero_instances = (
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//EN\r\nBEGIN:VEVENT\r\nUID:zero-1\r\nDTSTAMP:20260101T000000Z\r\n"
        b"DTSTART:20260105T100000Z\r\nDTEND:20260105T110000Z\r\nRRULE:FREQ=DAILY;COUNT=1\r\n"
        b"EXDATE:20260105T100000Z\r\nSUMMARY:Zero\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    malformed = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:bad-1\r\nDTSTART:notadate\r\n"
    malformed += b"END:VEVENT\r\nEND:VCALENDAR\r\n"
    # Xandikos stores what Radicale refuses, so it is the source here.
    source = fill(xandikos, "caldav", name, [samples.timed_event(1), malformed, zero_instances, samples.task(2)])
    job = job_for(owner, xandikos, radicale, source, name="messy", sync_contacts=False)

    run = run_job(job)

    assert run.status == "completed"
    assert (run.created, run.errors) == (3, 1)
    [error] = run.logs.filter(level="error")
    assert error.item.endswith("bad-1.ics") and "400" in error.message
    assert sorted(contents(radicale, "caldav", name)) == ["task-2@calsync.test", "timed-1@calsync.test", "zero-1"]


def test_after_a_run_that_wrote_the_stored_token_is_past_its_own_writes(owner, radicale, xandikos):
    name = f"Token {uuid.uuid4().hex[:6]}"
    source = fill(radicale, "caldav", name, [samples.timed_event(n) for n in range(5)])
    job = job_for(owner, radicale, xandikos, source, name="token", sync_contacts=False)

    run_job(job)

    dest = connector(xandikos)
    collection = next(c for c in dest.list_collections() if c.name == name)
    cursor = CollectionCursor.objects.get(job=job, url=collection.url)
    delta = dest.list_items(collection, sync_token=cursor.sync_token)
    assert not delta.complete and delta.items == {} and not delta.deleted
    dest.put(collection, samples.floating_event(1), uid="floating-1@calsync.test")
    assert len(dest.list_items(collection, sync_token=cursor.sync_token).items) == 1
