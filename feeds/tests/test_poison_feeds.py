"""Feeds and ICS imports with a poison calendar: telling current events from past ones is bounded.

A series too costly to expand counts as current (``feeds.render``): it is published and imported
as stored, and the bound it hit is logged. Memory is measured; timings live in the bench.
"""

from __future__ import annotations

import logging
import tracemalloc
import uuid
from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import User
from icalendar import Calendar

from accounts.connectors import connector_for
from accounts.connectors.base import AccountConfig
from accounts.models import Account
from calsync.testing.feeds import FeedServer
from calsync.testing.poison import poison_objects
from feeds.tests.test_feeds import make_feed
from feeds.tests.test_imports import calendar, event, feed, import_job, run
from jobs.models import SyncLog

pytestmark = pytest.mark.django_db

PEAK_BYTES = 64 * 1024 * 1024  # generous: one unbounded expansion needs gigabytes
# Radicale itself refuses COUNT above 10000, so the feeds hold the other two poisons.
ACCEPTED = ("poison-secondly", "poison-minutely-exdates")


@pytest.fixture
def owner(db) -> User:
    return User.objects.create_user(f"owner-{uuid.uuid4().hex[:6]}")


@pytest.fixture
def feed_server():
    with FeedServer() as server:
        yield server


def test_a_feed_of_current_events_publishes_the_poison_series_as_stored_with_bounded_memory(
    client, owner, radicale, caplog
):
    config = AccountConfig(kind="caldav", url=radicale.url, username=radicale.username, password=radicale.password)
    with connector_for(config) as dav:
        collection = dav.create_collection(name=f"Poison {uuid.uuid4().hex[:6]}", kind="calendar")
        for uid in ACCEPTED:
            dav.put(collection, poison_objects(datetime.now(UTC))[uid], uid=uid)
    account = Account.objects.create(
        owner=owner, name=f"dav-{uuid.uuid4().hex[:6]}", kind="caldav", url=radicale.url,
        username=radicale.username, password=radicale.password,
    )  # fmt: skip
    tracemalloc.start()
    try:
        with caplog.at_level(logging.WARNING, logger="feeds.services"):
            published = make_feed(owner, account, collection.url, sync_all=False)
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert published.last_error == "" and peak < PEAK_BYTES
    response = client.get(f"/ics/{published.path}")
    assert response.status_code == 200
    events = Calendar.from_ical(response.content).walk("VEVENT")
    assert sorted(str(e["UID"]) for e in events) == sorted(ACCEPTED)
    assert all("RRULE" in e for e in events)
    for uid in ACCEPTED:
        assert f"event UID {uid} not expanded" in caplog.text


def test_an_import_of_current_events_imports_the_poison_series_and_logs_their_hrefs(owner, radicale, feed_server):
    poison = poison_objects(datetime.now(UTC))
    bodies = [data.decode().split("BEGIN:VEVENT", 1)[1].rsplit("END:VCALENDAR", 1)[0] for data in poison.values()]
    feed_server.body = feed(*("BEGIN:VEVENT" + body for body in bodies), event("past@f", start="20200101T090000Z"))
    job = import_job(owner, radicale, feed_server.url(), sync_all=False)
    done = run(job)
    imported = set(calendar(radicale, job.source.name))
    assert set(ACCEPTED) <= imported and "past@f" not in imported
    logged = SyncLog.objects.filter(run=done, message__contains="not expanded")
    assert logged.count() == len(poison)  # each poison object, the billion-count one too
    assert all(line.item for line in logged)
