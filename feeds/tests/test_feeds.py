"""Publishing: a Radicale calendar rendered into stored bytes and served at /ics/<path>."""

from __future__ import annotations

import datetime as dt
import gzip
import uuid

import pytest
import vobject
from django.contrib.auth.models import User
from django.utils.http import http_date
from icalendar import Calendar

from accounts.connectors import connector_for
from accounts.connectors.base import AccountConfig
from accounts.models import Account
from calsync.lib.items import extract_uid
from calsync.testing import samples
from feeds.models import IcsFeed
from feeds.services import ics_feed_render, ics_feeds_refresh_due
from feeds.sources import FEED_SOURCES, FeedSourceUnavailable, source_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(db) -> User:
    return User.objects.create_user(f"owner-{uuid.uuid4().hex[:6]}", password="pw")


@pytest.fixture
def published(owner, radicale) -> tuple[Account, str]:
    """A Radicale calendar holding the sample shapes (time zones, overrides, tasks)."""
    config = AccountConfig(kind="caldav", url=radicale.url, username=radicale.username, password=radicale.password)
    dav = connector_for(config)
    collection = dav.create_collection(
        name=f"Pub {uuid.uuid4().hex[:6]}", kind="calendar", components=("VEVENT", "VTODO")
    )
    for data in samples.calendar_objects(12):
        dav.put(collection, data, uid=extract_uid(data))
    dav.close()
    account = Account.objects.create(
        owner=owner, name=f"dav-{uuid.uuid4().hex[:6]}", kind="caldav", url=radicale.url,
        username=radicale.username, password=radicale.password,
    )  # fmt: skip
    return account, collection.url


def make_feed(owner, account, calendar_url, **fields) -> IcsFeed:
    feed = IcsFeed.objects.create(
        owner=owner, path=fields.pop("path", f"work-{uuid.uuid4().hex[:6]}"), account=account,
        calendars=[calendar_url], **fields,
    )  # fmt: skip
    return ics_feed_render(feed=feed)


def test_the_caldav_source_is_in_the_registry_and_a_missing_one_is_a_clear_error(published):
    account, url = published
    objects = source_for("caldav")(IcsFeed(account=account, calendars=[url]))
    assert len(objects) == 12
    assert set(FEED_SOURCES) == {"caldav", "appointments"}
    with pytest.raises(FeedSourceUnavailable, match="unknown feed source"):
        source_for("nope")


def test_a_source_that_is_not_installed_leaves_the_error_on_the_feed(owner, monkeypatch):
    monkeypatch.setitem(FEED_SOURCES, "appointments", "booking.not_written_yet.appointment_objects")
    feed = ics_feed_render(feed=IcsFeed.objects.create(owner=owner, path="appts", source_type="appointments"))
    assert "not available" in feed.last_error and feed.etag == ""


def test_the_feed_is_served_with_validators_and_parses_back_with_a_second_parser(client, owner, published):
    feed = make_feed(owner, *published, include_todos=True)
    response = client.get(f"/ics/{feed.path}")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert response["ETag"] == feed.etag and response["Last-Modified"] == http_date(feed.last_modified.timestamp())
    calendar = Calendar.from_ical(response.content)
    assert feed.event_count == 12 and calendar.walk("VTODO")
    assert len(vobject.readOne(response.content.decode()).vevent_list) == len(calendar.walk("VEVENT"))
    assert client.get(f"/ics/{feed.path}.ics").content == response.content


def test_conditional_requests_get_304(client, owner, published):
    feed = make_feed(owner, *published)
    assert client.get(f"/ics/{feed.path}", HTTP_IF_NONE_MATCH=feed.etag).status_code == 304
    since = http_date(feed.last_modified.timestamp())
    assert client.get(f"/ics/{feed.path}.ics", HTTP_IF_MODIFIED_SINCE=since).status_code == 304
    assert client.get(f"/ics/{feed.path}", HTTP_IF_NONE_MATCH='"other"').status_code == 200


def test_a_rerender_of_an_unchanged_calendar_keeps_the_etag(owner, published):
    feed = make_feed(owner, *published)
    again = ics_feed_render(feed=feed)
    assert (again.etag, again.last_modified) == (feed.etag, feed.last_modified)


def test_gzip_is_served_precomputed_when_the_client_accepts_it(client, owner, published):
    feed = make_feed(owner, *published)
    response = client.get(f"/ics/{feed.path}", HTTP_ACCEPT_ENCODING="gzip, deflate")
    assert response["Content-Encoding"] == "gzip" and response["Vary"] == "Accept-Encoding"
    assert gzip.decompress(response.content) == bytes(IcsFeed.objects.get(pk=feed.pk).data)
    assert (
        client.get(f"/ics/{feed.path}", HTTP_ACCEPT_ENCODING="gzip", HTTP_IF_NONE_MATCH=response["ETag"]).status_code
        == 304
    )


def test_a_private_feed_is_not_found_without_its_token(client, owner, published):
    feed = make_feed(owner, *published, token="s3cret-token")
    assert client.get(f"/ics/{feed.path}").status_code == 404
    assert client.get(f"/ics/{feed.path}?token=wrong").status_code == 404
    assert client.get(f"/ics/{feed.path}.ics?token=s3cret-token").status_code == 200
    assert client.get("/ics/no-such-feed").status_code == 404


def test_the_token_is_stored_encrypted(owner, published):
    from django.db import connection

    feed = make_feed(owner, *published, token="s3cret-token")
    with connection.cursor() as cursor:
        cursor.execute("SELECT token FROM feeds_icsfeed WHERE id = %s", [feed.pk])
        assert "s3cret-token" not in str(cursor.fetchone()[0])


def test_sync_all_off_publishes_only_current_and_future_events(client, owner, published):
    feed = make_feed(owner, *published, sync_all=True)
    everything = feed.event_count
    feed.sync_all = False
    feed.save()
    # The samples fall in 2026: all current at its start; by April the March meetings are past
    # but the weekly series that began in January still runs.
    assert ics_feed_render(feed=feed, now=dt.datetime(2026, 1, 1, tzinfo=dt.UTC)).event_count == everything
    assert 0 < ics_feed_render(feed=feed, now=dt.datetime(2026, 4, 1, tzinfo=dt.UTC)).event_count < everything


def test_due_feeds_are_refreshed_by_the_beat_task(owner, published, settings):
    from calsync.celery import app

    assert settings.CELERY_BEAT_SCHEDULE["refresh-due-feeds"]["task"] == "feeds.refresh_due_feeds"
    feed = IcsFeed.objects.create(
        owner=owner,
        path=f"due-{uuid.uuid4().hex[:6]}",
        account=published[0],
        calendars=[published[1]],
        include_todos=True,
    )
    app.conf.task_always_eager = True
    try:
        assert feed.pk in ics_feeds_refresh_due()
    finally:
        app.conf.task_always_eager = False
    feed.refresh_from_db()
    assert feed.etag and feed.event_count == 12
    assert feed.pk not in ics_feeds_refresh_due()
