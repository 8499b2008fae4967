"""Writes on feeds: create, change, render (the only place feed bytes are made), queue a refresh."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import logging
import secrets
from typing import Any

from django.apps import apps
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.selectors import account_list_for
from calsync.limits import recurrence_limits
from calsync.queue import enqueue, enqueue_now
from calsync.visibility import sees_studio
from feeds.models import IcsFeed
from feeds.render import render_feed
from feeds.selectors import ics_feed_path_normalize, ics_feeds_due
from feeds.sources import source_for

logger = logging.getLogger(__name__)

EDITABLE_FIELDS = (
    "name", "path", "source_type", "account", "calendars", "source_ref",
    "include_todos", "sync_all", "token", "interval_minutes",
)  # fmt: skip


def ics_feed_create(*, owner: AbstractBaseUser, **fields: Any) -> IcsFeed:
    feed = IcsFeed(owner=owner, **{k: v for k, v in fields.items() if k in EDITABLE_FIELDS})
    return ics_feed_save(feed=feed, user=owner)


def ics_feed_update(*, feed: IcsFeed, user: AbstractBaseUser | AnonymousUser, **fields: Any) -> IcsFeed:
    for name, value in fields.items():
        if name in EDITABLE_FIELDS:
            setattr(feed, name, value)
    return ics_feed_save(feed=feed, user=user)


def ics_feed_check(*, feed: IcsFeed, user: AbstractBaseUser | AnonymousUser) -> None:
    """What ``user`` may publish, for the API and the admin alike; a ``ValidationError`` says why not.

    The account must be one the user may see (``calsync.visibility``) and a CalDAV one. Artists
    belong to the studio, not to one user, and their appointments carry clients' contact
    details: only staff publish them, and only of an artist that exists.
    """
    account = feed.account if feed.account_id is not None else None
    if account is not None:
        if not account_list_for(user=user).filter(pk=account.pk).exists():
            raise ValidationError({"account": "No such account."})
        if account.kind != "caldav":
            raise ValidationError({"account": "A feed publishes a CalDAV account's calendars."})
    if feed.source_type != IcsFeed.SourceType.APPOINTMENTS:
        return
    if not sees_studio(user):
        raise ValidationError({"source_type": "Only staff can publish appointments."})
    ref = str(feed.source_ref or "").strip()
    if not (ref.isascii() and ref.isdigit() and len(ref) <= 18) or not apps.is_installed("booking"):
        raise ValidationError({"source_ref": "The artist's id is required."})
    if not apps.get_model("booking", "Artist").objects.filter(pk=int(ref)).exists():
        raise ValidationError({"source_ref": f"No artist with id {ref}."})
    feed.source_ref = ref


def ics_feed_save(*, feed: IcsFeed, user: AbstractBaseUser | AnonymousUser) -> IcsFeed:
    """Validate and store a new or changed feed (API and admin alike), then queue its render.

    An appointments feed is always private: it carries clients' names and contact details, so
    it gets a random token when none is set (and clearing it makes a new one).
    """
    ics_feed_check(feed=feed, user=user)
    feed.path = ics_feed_path_normalize(path=feed.path)
    if feed.source_type == IcsFeed.SourceType.APPOINTMENTS and not feed.token:
        feed.token = secrets.token_urlsafe(24)
    feed.full_clean()
    feed.save()
    ics_feed_sync_request(feed=feed)
    return feed


def ics_feed_sync_request(*, feed: IcsFeed) -> None:
    """Re-render on a worker once the current transaction commits."""
    from feeds.tasks import ics_feed_refresh_task

    enqueue(ics_feed_refresh_task, feed.pk)


def ics_feeds_source_changed(*, source_type: str, source_ref: str) -> list[int]:
    """Queue a render of the feeds of one calsync-side source (e.g. one artist's appointments)
    once the change commits, so subscribers see it without waiting for the interval."""
    from feeds.tasks import ics_feed_refresh_task

    feed_ids = list(IcsFeed.objects.filter(source_type=source_type, source_ref=source_ref).values_list("id", flat=True))
    for feed_id in feed_ids:
        enqueue(ics_feed_refresh_task, feed_id)
    return feed_ids


def ics_feed_render(*, feed: IcsFeed, now: dt.datetime | None = None) -> IcsFeed:
    """Render the feed from its source and store the bytes; a failure keeps the last good bytes.

    The stored ETag and Last-Modified change only when the bytes do, so subscribers polling an
    unchanged calendar keep getting 304.
    """
    now = now or timezone.now()
    hits: list[tuple[str, str]] = []
    try:
        objects = source_for(feed.source_type)(feed)
        rendered = render_feed(
            objects,
            name=feed.name or feed.path,
            include_todos=feed.include_todos,
            sync_all=feed.sync_all,
            now=now,
            limits=recurrence_limits(),
            hits=hits,
        )
    except Exception as exc:  # the error belongs on the feed, where the owner sees it
        logger.warning("feed %s: render failed: %s", feed.pk, exc)
        IcsFeed.objects.filter(pk=feed.pk).update(last_synced_at=now, last_error=str(exc)[:5000])
        feed.refresh_from_db()
        return feed
    for uid, detail in hits:
        logger.warning("feed %s: event UID %s not expanded (%s); published as stored", feed.pk, uid[:200], detail)
    etag = '"' + hashlib.sha256(rendered.data).hexdigest()[:40] + '"'
    values: dict[str, Any] = {"last_synced_at": now, "last_error": "", "event_count": rendered.events}
    if etag != feed.etag:
        values.update(
            data=rendered.data,
            data_gzip=gzip.compress(rendered.data, compresslevel=6, mtime=0),
            etag=etag,
            last_modified=now.replace(microsecond=0),
        )
    IcsFeed.objects.filter(pk=feed.pk).update(**values)
    feed.refresh_from_db()
    return feed


def ics_feeds_refresh_due(*, now: dt.datetime | None = None) -> list[int]:
    """Queue a render of every feed whose interval has elapsed; returns their ids."""
    from feeds.tasks import ics_feed_refresh_task

    due = ics_feeds_due(now=now or timezone.now())
    for feed_id in due:
        enqueue_now(ics_feed_refresh_task, feed_id)
    return due
