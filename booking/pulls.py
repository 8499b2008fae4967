"""Pull busy time from an artist's calendar into ``BusyBlock`` rows, incrementally.

Rows are keyed by calendar+href: a changed event replaces all its rows, a deleted one removes
them. With a sync token only the changes travel; once a day (or without a token) the whole
calendar is listed and compared by etag, which also rolls the expansion window of recurring
events forward. Events that are our own appointments never become busy blocks: they are read
back onto the appointment instead (the artist moved or deleted it).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.connectors import connector_class
from accounts.connectors.base import ConnectorError, ItemStore, Listing, RemoteCollection, RemoteItem
from booking.availability import split
from booking.busy import BusyInterval, UnreadableCalendar, busy_expansion
from booking.ical import event_times
from booking.models import MAX_INTERVAL, Appointment, ArtistCalendar, BusyBlock, CalendarSyncLog
from calsync.lib.http import HttpClient
from calsync.lib.items import extract_uid
from calsync.lib.recurrence import Limits
from calsync.limits import recurrence_limits

logger = logging.getLogger(__name__)

FULL_PULL_EVERY = timedelta(days=1)
FETCH_BATCH = 200


@dataclass(frozen=True, slots=True)
class PullResult:
    ok: bool
    changed: int = 0
    deleted: int = 0
    message: str = ""


def calendar_connector(calendar: ArtistCalendar, *, timeout: float | None = None) -> ItemStore:
    config = calendar.account.connector_config()
    http = None
    if timeout is not None:
        # A live check answers a person waiting on the page: one short attempt, no retries.
        http = HttpClient(
            username=config.username,
            password=config.password,
            verify_tls=config.verify_tls,
            timeout=timeout,
            retries=0,
            network=config.network,
        )
    return connector_class(config.kind)(config, http=http) if http else connector_class(config.kind)(config)


def calendar_collection(calendar: ArtistCalendar) -> RemoteCollection:
    return RemoteCollection(url=calendar.calendar_url, name="", kind="calendar")


def busy_pull(
    *,
    calendar: ArtistCalendar,
    timeout: float | None = None,
    now: datetime | None = None,
    window: tuple[datetime, datetime] | None = None,
) -> PullResult:
    """Bring ``calendar``'s busy blocks (and our appointments' server state) up to date.

    ``window`` (a manual sync of a date range) re-reads every event and expands it over that range
    as well as the rolling window, so a range beyond the rolling window is covered until the next
    daily full pull rolls the expansion back.
    """
    now = now or timezone.now()
    began = time.monotonic()
    ArtistCalendar.objects.filter(pk=calendar.pk).update(last_attempt_at=now)
    last_full = calendar.last_full_pull_at
    full = window is not None or not calendar.sync_token or last_full is None or now - last_full > FULL_PULL_EVERY
    try:
        with calendar_connector(calendar, timeout=timeout) as dav:  # type: ignore[attr-defined]
            result = _pull(dav, calendar, full=full, now=now, window=window)
    except ConnectorError as exc:
        message = f"pull failed: {exc}"
        ArtistCalendar.objects.filter(pk=calendar.pk).update(last_pull_ok=False, last_error=message[:2000])
        _log(calendar, "pull", CalendarSyncLog.Status.ERROR, message, 0, began)
        return PullResult(False, message=message)
    except SoftTimeLimitExceeded:
        # The task's soft time limit: nothing of this pull was written (it commits at the end), so
        # the calendar keeps its previous busy blocks; record why and let the task stop.
        message = "pull stopped: the task's soft time limit was reached"
        logger.warning("calendar %s: %s", calendar.pk, message)
        ArtistCalendar.objects.filter(pk=calendar.pk).update(last_pull_ok=False, last_error=message)
        _log(calendar, "pull", CalendarSyncLog.Status.ERROR, message, 0, began)
        raise
    _log(calendar, "pull", CalendarSyncLog.Status.OK, result.message, result.changed + result.deleted, began)
    return result


def _pull(
    dav: ItemStore,
    calendar: ArtistCalendar,
    *,
    full: bool,
    now: datetime,
    window: tuple[datetime, datetime] | None = None,
) -> PullResult:
    collection = calendar_collection(calendar)
    listing = dav.list_items(collection, sync_token="" if full else calendar.sync_token)
    own = dict(
        Appointment.objects.filter(artist_id=calendar.artist_id)
        .exclude(caldav_href="")
        .values_list("caldav_href", "caldav_etag")
    )
    known = dict(BusyBlock.objects.filter(calendar=calendar).values_list("href", "etag").distinct())
    changed, deleted = _changed_and_deleted(
        dav, collection, calendar, listing, own=own, known=known, read_all=window is not None
    )
    window_start, window_end = _busy_window(now, window)
    zone = ZoneInfo(calendar.artist.time_zone)
    limits = recurrence_limits()
    rows: dict[str, list[BusyBlock]] = {}
    bounded = 0
    hrefs = sorted(changed)
    for offset in range(0, len(hrefs), FETCH_BATCH):
        for item in dav.fetch(collection, hrefs[offset : offset + FETCH_BATCH]):
            if item.href in own or _own_uid(item.data, calendar):
                _appointment_seen(item.href, item.etag, item.data)
                continue
            intervals, exceeded = _item_intervals(
                calendar, item, zone=zone, start=window_start, end=window_end, limits=limits
            )
            bounded += exceeded
            rows[item.href] = _busy_blocks(calendar, item, intervals)
    with transaction.atomic():
        # Two pulls of one calendar can overlap (beat's and a manual one, on two workers): each
        # replaces the rows it read, so they take turns here, or the later one would neither see
        # nor delete the rows the earlier one inserted, and every event would be blocked twice.
        list(ArtistCalendar.objects.select_for_update().filter(pk=calendar.pk).values_list("pk", flat=True))
        stale = (set(rows) | deleted) - set(own)
        for offset in range(0, len(stale), 500):
            chunk = sorted(stale)[offset : offset + 500]
            BusyBlock.objects.filter(calendar=calendar, href__in=chunk).delete()
        BusyBlock.objects.bulk_create([row for blocks in rows.values() for row in blocks], batch_size=1000)
        for href in deleted & set(own):
            _appointment_deleted_remotely(href)
        updates = {"sync_token": listing.sync_token, "last_pulled_at": now, "last_pull_ok": True, "last_error": ""}
        if full:
            updates["last_full_pull_at"] = now
        ArtistCalendar.objects.filter(pk=calendar.pk).update(**updates)
    kind = "range" if window is not None else "full" if full else "delta"
    message = f"{kind} pull: {len(rows)} changed, {len(deleted)} deleted"
    if bounded:
        message += f", {bounded} too costly to expand (busy for the whole window)"
    return PullResult(True, changed=len(rows), deleted=len(deleted), message=message)


def _changed_and_deleted(
    dav: ItemStore,
    collection: RemoteCollection,
    calendar: ArtistCalendar,
    listing: Listing,
    *,
    own: dict[str, str],
    known: dict[str, str],
    read_all: bool,
) -> tuple[set[str], set[str]]:
    """The hrefs to read again and the ones gone: by etag from a complete listing, else from the delta."""
    if listing.complete:
        deleted = (set(known) | {href for href in own if _same_collection(href, calendar)}) - set(listing.items)
        changed = {href for href, etag in listing.items.items() if known.get(href, own.get(href)) != etag}
        if read_all:
            # Unchanged events must be expanded again over the new range, so all of them are read.
            changed = set(listing.items)
    else:
        deleted, changed = set(listing.deleted), set(listing.items)
        deleted |= _recent_own_gone(dav, collection, calendar, seen=changed | deleted)
    return changed, deleted


def _busy_window(now: datetime, window: tuple[datetime, datetime] | None) -> tuple[datetime, datetime]:
    start = now - timedelta(days=1)
    end = now + timedelta(days=settings.CALSYNC_BUSY_WINDOW_DAYS)
    if window is not None:
        start, end = min(start, window[0]), max(end, window[1])
    return start, end


def _item_intervals(
    calendar: ArtistCalendar,
    item: RemoteItem,
    *,
    zone: ZoneInfo,
    start: datetime,
    end: datetime,
    limits: Limits,
) -> tuple[list[BusyInterval], bool]:
    """The event's busy intervals in the window, and whether a recurrence bound cut them short."""
    try:
        busy = busy_expansion(item.data, zone=zone, start=start, end=end, limits=limits)
    except UnreadableCalendar as exc:
        logger.warning("calendar %s: %s is unreadable: %s", calendar.pk, item.href, exc)
        return [], False
    if busy.exceeded:
        logger.warning(
            "calendar %s: %s hit the recurrence %s bound (%s); busy for the whole window",
            calendar.pk,
            item.href,
            busy.exceeded,
            busy.detail,
        )
    return busy.intervals, bool(busy.exceeded)


def _busy_blocks(calendar: ArtistCalendar, item: RemoteItem, intervals: list[BusyInterval]) -> list[BusyBlock]:
    return [
        BusyBlock(
            calendar=calendar,
            artist_id=calendar.artist_id,
            href=item.href,
            etag=item.etag,
            uid=interval.uid[:500],
            summary=interval.summary,
            start=piece_start,
            end=piece_end,
            all_day=interval.all_day,
        )
        for interval in intervals
        for piece_start, piece_end in split(interval.start, interval.end, MAX_INTERVAL)
    ]


def _recent_own_gone(
    dav: ItemStore, collection: RemoteCollection, calendar: ArtistCalendar, *, seen: set[str]
) -> set[str]:
    """Our events written since the last pull that a delta does not mention.

    A server may leave out of a sync-collection delta an item both created and deleted since the
    token (RFC 6578 section 3.5.2 allows it), so those are looked up one by one.
    """
    if calendar.last_pulled_at is None:
        return set()
    hrefs = (
        set(
            Appointment.objects.filter(calendar=calendar, updated_at__gte=calendar.last_pulled_at)
            .exclude(caldav_href="")
            .values_list("caldav_href", flat=True)
        )
        - seen
    )
    if not hrefs:
        return set()
    found = {item.href for item in dav.fetch(collection, sorted(hrefs))}
    return hrefs - found


def _same_collection(href: str, calendar: ArtistCalendar) -> bool:
    from urllib.parse import urlsplit

    return href.startswith(urlsplit(calendar.calendar_url).path)


def _own_uid(data: bytes, calendar: ArtistCalendar) -> bool:
    # The UID line decides; parsing the whole object here too doubled the cost of a large one.
    uid = extract_uid(data)
    return bool(uid and Appointment.objects.filter(artist_id=calendar.artist_id, caldav_uid=uid).exists())


def _appointment_seen(href: str, etag: str, data: bytes) -> None:
    """The artist may have moved our event: the calendar's times win (it is their calendar)."""
    facts = event_times(data)
    appointment = Appointment.objects.filter(caldav_href=href).first()
    if appointment is None and facts:
        appointment = Appointment.objects.filter(caldav_uid=facts.uid).first()
    if appointment is None or appointment.caldav_etag == etag:
        return
    changes: dict[str, object] = {"caldav_href": href, "caldav_etag": etag}
    if facts and (facts.start, facts.end) != (appointment.start, appointment.end):
        changes.update(start=facts.start, end=facts.end)
    if appointment.push_state == Appointment.PushState.CONFLICT or facts:
        changes["push_state"] = Appointment.PushState.SYNCED
    Appointment.objects.filter(pk=appointment.pk).update(**changes, updated_at=timezone.now())
    CalendarSyncLog.objects.create(
        calendar=appointment.calendar,
        appointment=appointment,
        direction=CalendarSyncLog.Direction.PULL,
        action="appointment_changed",
        status=CalendarSyncLog.Status.OK,
        message=f"changed in the calendar: {facts.start:%Y-%m-%d %H:%M}-{facts.end:%H:%M} UTC" if facts else "changed",
        items=1,
    )


def _appointment_deleted_remotely(href: str) -> None:
    appointment = Appointment.objects.filter(caldav_href=href).first()
    if appointment is None or appointment.status == Appointment.Status.CANCELLED:
        return
    Appointment.objects.filter(pk=appointment.pk).update(
        status=Appointment.Status.CANCELLED,
        caldav_href="",
        caldav_etag="",
        push_state=Appointment.PushState.SYNCED,
        updated_at=timezone.now(),
    )
    CalendarSyncLog.objects.create(
        calendar=appointment.calendar,
        appointment=appointment,
        direction=CalendarSyncLog.Direction.PULL,
        action="appointment_deleted",
        status=CalendarSyncLog.Status.OK,
        message="deleted in the calendar; the appointment is cancelled",
        items=1,
    )


def _log(calendar: ArtistCalendar, action: str, status: str, message: str, items: int, began: float) -> None:
    CalendarSyncLog.objects.create(
        calendar=calendar,
        direction=CalendarSyncLog.Direction.PULL,
        action=action,
        status=status,
        message=message[:2000],
        items=items,
        duration_ms=int((time.monotonic() - began) * 1000),
    )
