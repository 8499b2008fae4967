"""ICS import: a SyncJob whose source is an ``ics`` account and whose destination is CalDAV.

The run is a normal run (SyncRun, logs, counters, retries, schedules, "sync now"); this engine
only maps the feed to one destination calendar and narrows what the feed lists:

- ``keep_local`` → copy mode (never deletes); otherwise mirror (events gone from the feed are
  deleted), whatever the job's ``mode`` says; the run's log names the mode used. One-way modes
  touch only destination objects that have an ItemLink of this job, so two feeds into one
  calendar, or events made by hand there, are never deleted. With ``keep_local`` the links of
  events gone from the feed are kept, so that they are deleted once ``keep_local`` is turned off.
- ``sync_all=False`` → only events with a current or future occurrence are imported. Events
  already imported that have since passed are left alone (they are not "gone from the feed").
  Occurrences are found by the one bounded expander; an event too costly to expand is imported
  as stored (see ``feeds.render``) and its href is logged on the run.
- A feed that suddenly lists nothing fails the run instead of emptying the calendar.
- The feed's HTTP ETag is kept as the job's cursor only after a run that owes nothing: with it,
  an unchanged feed answers 304 and lists nothing, so an owed item would never be tried again.
  Owed items are in the job's ledger and retried by follow-up runs like any sync's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

from django.conf import settings

from accounts.connectors import connector_for
from accounts.connectors.base import ConfigError, Listing, RemoteCollection, RemoteItem
from accounts.connectors.ics import ICSConnector
from calsync.lib.current import is_current
from calsync.limits import recurrence_limits
from jobs.engines.base import EngineBase, EngineOptions, PairReport, helps
from jobs.engines.dav import collection_map_errors, components_errors, dav_connector, pair_progress, write_chosen
from jobs.mapping import CollectionMapper
from jobs.models import CollectionCursor, Conflict, SyncJob, SyncRun, default_components
from jobs.reconcile.apply import PairSync
from jobs.reconcile.ledger import OutageDetector
from jobs.reconcile.pair import Pair
from jobs.reconcile.plan import EmptySideGuard, Mode
from jobs.reconcile.tokens import past_own_writes
from jobs.stores import OrmLinkStore


@dataclass(frozen=True)
class IcsImportOptions(EngineOptions):
    sync_all: bool = field(
        default=True, metadata=helps("Import past events too; off: only events with a current or future occurrence.")
    )
    keep_local: bool = field(
        default=False, metadata=helps("Keep events that left the feed (copy); off: delete them (mirror).")
    )
    components: list[str] = field(default_factory=default_components, metadata=helps("Calendar components to import."))
    create_collections: bool = field(
        default=True, metadata=helps("Create the destination calendar (named like the feed) when missing.")
    )
    collection_map: dict[str, str] = field(
        default_factory=dict,
        metadata=helps("Feed URL → destination calendar URL; empty: the calendar named like the feed account."),
    )

    def errors(self) -> dict[str, str]:
        return {**components_errors(self.components), **collection_map_errors(self.collection_map)}


class IcsImportEngine(EngineBase):
    name: ClassVar[str] = "ICS import"
    options_class: ClassVar[type[EngineOptions]] = IcsImportOptions

    def run(self, job: SyncJob, progress: Any, *, run: SyncRun | None, confirm_empty: bool) -> list[PairReport]:
        return sync_ics_job(job, progress, run=run, confirm_empty=confirm_empty)

    def plan(self, job: SyncJob, progress: Any, *, confirm_empty: bool) -> list[PairReport]:
        return sync_ics_job(job, progress, dry_run=True, confirm_empty=confirm_empty)

    def resolve(self, *, conflict: Conflict, resolution: str) -> tuple[dict | None, dict | None]:
        write_chosen(conflict, resolution)  # as for any DAV destination
        return None, None


class ErrorCounter:
    """The run's progress, counting item errors on the way (they decide whether the cursor moves)."""

    def __init__(self, progress) -> None:
        self.progress = progress
        self.errors = 0
        self.writes = 0

    def count(self, **counters: int) -> None:
        self.errors += counters.get("errors", 0)
        self.writes += sum(counters.get(name, 0) for name in ("created", "updated", "deleted"))
        self.progress.count(**counters)

    def __getattr__(self, name: str):  # log, planned, checkpoint … are the run's own
        return getattr(self.progress, name)


class KeptLinks:
    """The job's links, of which none is dropped while ``keep_local`` is on.

    Copy mode forgets the link of an event that left the feed; the event would then sit in the
    calendar unlinked, and a later mirror run (``keep_local`` turned off) would never delete it.
    A link that moves to another destination object is still replaced by ``save``.
    """

    def __init__(self, store: OrmLinkStore) -> None:
        self.store = store

    def forget(self, source_hrefs: Iterable[str]) -> None:
        pass

    def __getattr__(self, name: str):  # load, save, conflict and the owed ledger are the store's own
        return getattr(self.store, name)


class FeedSource:
    """The feed as the sync engine's source, narrowed by the job's options."""

    kind = "ics"

    def __init__(
        self,
        feed: ICSConnector,
        *,
        imported: set[str],
        sync_all: bool,
        confirm_empty: bool,
        now: dt.datetime,
        log: Callable[[str, str, str], None] | None = None,
    ) -> None:
        self.feed = feed
        self.run_log = log or (lambda level, message, item: None)  # the run's log: level, message, item href
        self.imported = imported  # source hrefs this job has links for
        self.sync_all = sync_all
        self.confirm_empty = confirm_empty
        self.now = now

    def list_items(self, collection: RemoteCollection, *, sync_token: str = "") -> Listing:
        listing = self.feed.list_items(collection, sync_token=sync_token)
        if not listing.complete:
            return listing  # 304: nothing changed
        if not listing.items and self.imported and not self.confirm_empty:
            raise EmptySideGuard(
                f"The feed now lists no events, but {len(self.imported)} were imported from it before. "
                "Refusing to delete them; if the feed really is empty now, start the run with confirm_empty."
            )
        if self.sync_all:
            return listing
        items = self.feed.feed_items()
        limits = recurrence_limits()
        current = {}
        for href, etag in listing.items.items():
            hits: list[tuple[str, str]] = []
            if is_current(items[href].data, self.now, limits=limits, hits=hits):
                current[href] = etag
            for _uid, detail in hits:
                self.run_log("warning", f"not expanded ({detail}); imported as stored", href)
        # A delta, so that imported events that have merely passed are "unchanged", not deleted;
        # only what left the feed is deleted.
        return Listing(current, listing.sync_token, complete=False, deleted=self.imported - set(listing.items))

    def fetch(self, collection: RemoteCollection, hrefs: Iterable[str]) -> Iterator[RemoteItem]:
        return self.feed.fetch(collection, hrefs)

    def __getattr__(self, name: str):  # check, put, delete, close … are the feed's own
        return getattr(self.feed, name)


def sync_ics_job(
    job: SyncJob, progress, *, run: SyncRun | None = None, dry_run: bool = False, confirm_empty: bool = False
) -> list[PairReport]:
    feed = connector_for(job.source.connector_config())
    dest = dav_connector(job.destination, "caldav")
    try:
        return [_sync_feed(job, feed, dest, progress, run=run, dry_run=dry_run, confirm_empty=confirm_empty)]
    finally:
        feed.close()
        dest.close()


def _sync_feed(job: SyncJob, feed, dest, progress, *, run, dry_run: bool, confirm_empty: bool) -> PairReport:
    [collection] = feed.list_collections()
    # The destination calendar is named like the feed account unless the job maps it.
    collection = replace(collection, name=job.source.name)
    mapper = CollectionMapper(
        dest,
        [c for c in dest.list_collections() if c.kind == "calendar"],
        explicit={url.rstrip("/"): target for url, target in (job.collection_map or {}).items()},
        create=job.create_collections,
        dry_run=dry_run,
        log=progress.log,
        source=feed,
    )
    try:
        mapped = mapper.map_calendar(replace(collection, kind="calendar"), set(job.components))
    except LookupError:
        raise ConfigError("the destination calendar named in the job's collection map does not exist") from None
    if not mapped.dest:
        if mapped.would_create:
            return PairReport(
                collection.url, "(new) " + ", ".join(mapped.would_create), "feed", [], mapped.would_create
            )
        raise ConfigError(f"no destination calendar named {job.source.name!r}; enable create_collections or map one")
    store = OrmLinkStore(job, collection.url, run)
    before = store.load()
    source = FeedSource(
        feed,
        imported={record.source_href for record in before},
        sync_all=job.sync_all,
        confirm_empty=confirm_empty,
        now=dt.datetime.now(dt.UTC),
        log=progress.log,
    )
    mode = Mode.COPY if job.keep_local else Mode.MIRROR
    pair = Pair(
        source,  # type: ignore[arg-type]
        dest,
        collection,
        mapped.dest,
        mode,
        components=frozenset(job.components),
    )
    gone = "kept (keep_local is on)" if job.keep_local else "deleted (keep_local is off)"
    progress.log(
        "info", f"ICS import as {mode.value}: events gone from the feed are {gone}; the job's mode does not apply"
    )
    cursors = {c.url: c.sync_token for c in CollectionCursor.objects.filter(job=job)}
    counted = ErrorCounter(pair_progress(progress, collection, pair))
    links = KeptLinks(store) if job.keep_local else store
    sync = PairSync(
        pair,
        links,
        counted,
        dry_run=dry_run,
        loaded=before,
        max_attempts=settings.CALSYNC_OWED_MAX_ATTEMPTS,
        outage=OutageDetector(settings.CALSYNC_SERVER_DOWN_AFTER),
    )
    result = sync.run(
        source_token=_feed_etag(cursors.get(collection.url, ""), mode),
        dest_tokens={url: cursors.get(url, "") for url in pair.dest_urls},
        confirm_empty=confirm_empty,
    )
    if not dry_run:
        # With items owed the feed's ETag is forgotten: the next run downloads the feed in full
        # and retries them (what landed is unchanged by then and costs nothing).
        source_token = result.source_token if not sync.owes else ""
        dest_tokens = result.dest_tokens if not sync.owes else {}
        if counted.writes and not sync.owes:
            dest_tokens = past_own_writes(
                dest=dest,
                collections=pair.dest_collections.values(),
                tokens=dest_tokens,
                before=before,
                after=list(sync.records.values()),
            )
        if sync.owes:
            CollectionCursor.objects.filter(job=job, url=collection.url).delete()
        for url, token in {collection.url: _feed_cursor(source_token, mode), **dest_tokens}.items():
            if token:
                CollectionCursor.objects.update_or_create(job=job, url=url, defaults={"sync_token": token})
        progress.log(
            "info", f"{job.source.name}: done" + (", with items owed (they are tried again)" if sync.owes else "")
        )
    return PairReport(collection.url, ", ".join(pair.dest_urls), "feed", result.actions, mapped.would_create)


def _feed_cursor(etag: str, mode: Mode) -> str:
    """The feed's ETag, stored with the mode it was applied in: after ``keep_local`` changes, an
    unchanged feed (304) would otherwise list nothing, and mirror mode would never see which
    events the copy runs kept."""
    return f"{mode.value} {etag}" if etag else ""


def _feed_etag(cursor: str, mode: Mode) -> str:
    stored_mode, _, etag = cursor.partition(" ")
    return etag if stored_mode == mode.value else ""
