"""Where a published feed's events come from: an explicit registry, like the connectors'.

A source is ``callable(feed) -> list[bytes]``, each item one standalone VCALENDAR (one UID with
its overrides and VTIMEZONEs), exactly like CalDAV objects. Dotted paths keep ``feeds`` from
importing apps that may not exist yet.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from feeds.models import IcsFeed

FEED_SOURCES: dict[str, str] = {
    "caldav": "feeds.sources.caldav_objects",
    "appointments": "booking.feeds.appointment_objects",
}

FeedSource = Callable[["IcsFeed"], list[bytes]]


class FeedSourceUnavailable(Exception):
    """The source type is unknown, or its module is not installed (yet)."""


def source_for(source_type: str) -> FeedSource:
    try:
        path = FEED_SOURCES[source_type]
    except KeyError:
        raise FeedSourceUnavailable(f"unknown feed source {source_type!r}; known: {', '.join(FEED_SOURCES)}") from None
    try:
        return import_string(path)
    except ImportError as exc:
        raise FeedSourceUnavailable(f"the {source_type!r} feed source is not available ({path}: {exc})") from None


def caldav_objects(feed: IcsFeed) -> list[bytes]:
    """Every object of the feed's selected calendars (all calendars when none is selected)."""
    from jobs.engines.dav import dav_connector

    if feed.account is None:
        raise FeedSourceUnavailable("a CalDAV feed needs an account")
    wanted = {url.rstrip("/") for url in feed.calendars or []}
    dav = dav_connector(feed.account, "caldav")
    try:
        objects: list[bytes] = []
        for collection in dav.list_collections():
            if collection.kind != "calendar" or (wanted and collection.url.rstrip("/") not in wanted):
                continue
            listing = dav.list_items(collection)
            objects += [item.data for item in dav.fetch(collection, list(listing.items))]
        return objects
    finally:
        dav.close()
