"""Celery tasks: thin wrappers that load ids and call a service."""

from __future__ import annotations

from celery import shared_task

from feeds.models import IcsFeed
from feeds.services import ics_feed_render, ics_feeds_refresh_due


@shared_task(name="feeds.refresh_feed")
def ics_feed_refresh_task(feed_id: int) -> None:
    feed = IcsFeed.objects.filter(pk=feed_id).first()
    if feed is not None:  # deleted since it was queued: nothing to do
        ics_feed_render(feed=feed)


@shared_task(name="feeds.refresh_due_feeds")
def ics_feeds_refresh_due_task() -> int:
    return len(ics_feeds_refresh_due())
