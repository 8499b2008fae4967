"""Reads on feeds."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from calsync.visibility import visible_to
from feeds.models import IcsFeed

# What the /ics view needs to answer a conditional request, without the stored bytes.
SERVE_FIELDS = ("id", "path", "token", "etag", "last_modified")


def ics_feed_path_normalize(*, path: str) -> str:
    """``/ics/work``, ``work/`` and ``work.ics`` all name the feed ``work``."""
    return path.strip("/").removesuffix(".ics")


def ics_feed_for_serving(*, path: str) -> IcsFeed | None:
    return IcsFeed.objects.only(*SERVE_FIELDS).filter(path=ics_feed_path_normalize(path=path)).first()


def ics_feed_body(*, feed_id: int, gzipped: bool) -> bytes:
    column = "data_gzip" if gzipped else "data"
    return bytes(IcsFeed.objects.filter(pk=feed_id).values_list(column, flat=True).first() or b"")


def ics_feed_list_for(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[IcsFeed]:
    """The feeds ``user`` may see (``calsync.visibility``: staff all, others their own)."""
    return visible_to(IcsFeed.objects.defer("data", "data_gzip").select_related("account", "owner"), user=user)


def ics_feeds_due(*, now: dt.datetime) -> list[int]:
    """Feeds never rendered, or whose interval has elapsed since the last render."""
    rows = IcsFeed.objects.values_list("id", "last_synced_at", "interval_minutes")
    return [
        pk for pk, synced, minutes in rows if synced is None or synced + dt.timedelta(minutes=max(minutes, 1)) <= now
    ]
