"""CalDAV/CardDAV → CalDAV/CardDAV: every mapped calendar, task list and address book.

Every collection pair is listed and planned before the first write, so the run's total is known
from the start; then the pairs are written one after the other. The engine's ORM ports live in
``jobs/stores.py`` (links, the owed-items ledger, conflicts) and ``jobs/progress.py``; the runner
(``jobs/runner.py``) claims the run, holds a write slot and ends the run.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

from django.conf import settings

from accounts.connectors import connector_for
from accounts.connectors.base import (
    ConnectorError,
    ItemStore,
    PreconditionFailed,
    RemoteCollection,
)
from accounts.connectors.profile import ServerProfile
from accounts.models import Account
from calsync.lib.items import content_hash, extract_uid
from jobs.engines.base import ConflictError, EngineBase, EngineOptions, PairReport, helps
from jobs.mapping import CollectionMapper, MappedCollection, selected
from jobs.models import CALENDAR_COMPONENTS, CollectionCursor, Conflict, ItemLink, SyncJob, SyncRun, default_components
from jobs.reconcile.apply import PairSync
from jobs.reconcile.ledger import OutageDetector
from jobs.reconcile.pair import Pair, ServerDown
from jobs.reconcile.plan import Action, Mode, Op, Policy
from jobs.reconcile.tokens import past_own_writes
from jobs.stores import OrmLinkStore


@dataclass(frozen=True)
class DavOptions(EngineOptions):
    mode: str = field(
        default=SyncJob.Mode.COPY.value,
        metadata=helps("copy never deletes; mirror propagates deletions; two-way both ways."),
    )
    conflict_policy: str = field(
        default=SyncJob.ConflictPolicy.SOURCE.value,
        metadata=helps("Which side wins when both changed (two-way), or manual."),
    )
    sync_calendars: bool = field(default=True, metadata=helps("Sync calendars and task lists."))
    sync_contacts: bool = field(default=True, metadata=helps("Sync address books."))
    components: list[str] = field(
        default_factory=default_components, metadata=helps("Calendar components to copy (VEVENT, VTODO, VJOURNAL).")
    )
    create_collections: bool = field(default=True, metadata=helps("Create a destination collection when none matches."))
    collection_map: dict[str, str] = field(
        default_factory=dict,
        metadata=helps(
            "Source collection URL → destination collection URL (empty: by name); when set, only these sync."
        ),
    )
    strict: bool = field(
        default=False,
        metadata=helps(
            "Report objects the destination refuses instead of repairing them to land (an empty property, "
            "an end not after the start, vCard 2.1…)."
        ),
    )

    def errors(self) -> dict[str, str]:
        errors = {}
        if self.mode not in SyncJob.Mode.values:
            errors["mode"] = f"mode must be one of {', '.join(SyncJob.Mode.values)}"
        if self.conflict_policy not in SyncJob.ConflictPolicy.values:
            errors["conflict_policy"] = f"conflict_policy must be one of {', '.join(SyncJob.ConflictPolicy.values)}"
        if not self.sync_calendars and not self.sync_contacts:
            errors["sync_contacts"] = "Sync calendars, address books or both: with neither the job does nothing."
        errors.update(components_errors(self.components, needed=self.sync_calendars))
        errors.update(collection_map_errors(self.collection_map))
        return errors


def components_errors(components: Any, *, needed: bool = True) -> dict[str, str]:
    if not isinstance(components, list) or not all(isinstance(c, str) for c in components):
        return {"components": 'components must be a list such as ["VEVENT", "VTODO"]'}
    unknown = sorted(set(components) - set(CALENDAR_COMPONENTS))
    if unknown:
        return {"components": f"unknown component {', '.join(unknown)}; known: {', '.join(CALENDAR_COMPONENTS)}"}
    if needed and not components:
        return {"components": "Choose at least one calendar component."}
    return {}


def collection_map_errors(collection_map: Any) -> dict[str, str]:
    if not isinstance(collection_map, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in collection_map.items()
    ):
        return {"collection_map": 'collection_map must map source collection URLs to destination URLs (or "")'}
    return {}


class DavEngine(EngineBase):
    name: ClassVar[str] = "CalDAV/CardDAV sync"
    options_class: ClassVar[type[EngineOptions]] = DavOptions

    def run(self, job: SyncJob, progress: Any, *, run: SyncRun | None, confirm_empty: bool) -> list[PairReport]:
        return sync_dav_job(job, progress, run=run, confirm_empty=confirm_empty)

    def plan(self, job: SyncJob, progress: Any, *, confirm_empty: bool) -> list[PairReport]:
        return sync_dav_job(job, progress, dry_run=True, confirm_empty=confirm_empty)

    def resolve(self, *, conflict: Conflict, resolution: str) -> tuple[dict | None, dict | None]:
        write_chosen(conflict, resolution)
        return None, None


def dav_connector(account: Account, kind: str, *, vcard_version: str = "") -> ItemStore:
    """A CalDAV or CardDAV connector for ``account``: one server usually serves both. Contacts are
    read in ``vcard_version`` where the server offers it ("" is the server's default)."""
    return connector_for(replace(account.connector_config(), kind=kind, vcard_version=vcard_version))


def vcard_version_for(destination: ServerProfile) -> str:
    """The vCard version to read contacts in for a destination: 4.0 only where its server was
    seen to keep a vCard 4 contact as written (``ServerProfile.vcard4``), the server's default
    otherwise. A 4.0 read is a conversion on servers that store 3.0 (Cyrus turns a 3.0 PHOTO into
    a ``data:`` URI), and a destination that parses vCard 4 as 3.0 damages it (Radicale cuts the
    URI at its comma); unprobed, the conversion is not worth the risk."""
    return "4.0" if destination.vcard4 else ""


def sync_dav_job(
    job: SyncJob, progress, *, run: SyncRun | None = None, dry_run: bool = False, confirm_empty: bool = False
) -> list[PairReport]:
    """CalDAV/CardDAV → CalDAV/CardDAV: every mapped calendar and address book.

    Every collection pair is listed and planned before the first write, so the run's total is
    known from the start; then the pairs are written one after the other.
    """
    kinds = []
    if job.sync_calendars:
        kinds.append(("caldav", "calendar"))
    if job.sync_contacts:
        kinds.append(("carddav", "addressbook"))
    connectors: list[ItemStore] = []
    outage = OutageDetector(settings.CALSYNC_SERVER_DOWN_AFTER)
    try:
        entries: list[PreparedPair | PairReport] = []
        for connector_kind, collection_kind in kinds:
            # Each side reads for the other (a two-way job writes both ways).
            source_reads = vcard_version_for(ServerProfile.from_dict(job.destination.server_profile))
            dest_reads = vcard_version_for(ServerProfile.from_dict(job.source.server_profile))
            source = dav_connector(job.source, connector_kind, vcard_version=source_reads)
            dest = dav_connector(job.destination, connector_kind, vcard_version=dest_reads)
            connectors += [source, dest]
            entries += _prepare_kind(
                job, source, dest, collection_kind, progress,
                run=run, dry_run=dry_run, confirm_empty=confirm_empty, outage=outage,
            )  # fmt: skip
        return _execute(job, entries, progress, dry_run=dry_run)
    finally:
        for connector in connectors:
            connector.close()


@dataclass
class PreparedPair:
    """A collection pair listed and planned, waiting for its turn to write."""

    name: str
    kind: str
    pair: Pair
    sync: PairSync
    mapped: MappedCollection


def pair_progress(progress, collection: RemoteCollection, pair: Pair):
    """The run's progress, tallied per collection for the run report when the run keeps one."""
    if not hasattr(progress, "for_collection"):
        return progress
    return progress.for_collection(
        collection.url, name=collection.name or collection.url, destination=", ".join(pair.dest_urls)
    )


def _prepare_kind(
    job, source, dest, collection_kind, progress, *, run, dry_run, confirm_empty, outage
) -> list[PreparedPair | PairReport]:
    try:
        source_collections = selected(
            [c for c in source.list_collections() if c.kind == collection_kind], job.collection_map or {}
        )
    except ConnectorError as exc:
        if exc.permanent:
            raise
        progress.log("warning", f"no {collection_kind}s on the source: {exc}")
        return []
    dest_collections = [c for c in dest.list_collections() if c.kind == collection_kind]
    mapper = CollectionMapper(
        dest,
        dest_collections,
        explicit=job.collection_map or {},
        create=job.create_collections,
        dry_run=dry_run,
        log=progress.log,
        source=source,
    )
    cursors = {c.url: c.sync_token for c in CollectionCursor.objects.filter(job=job)}
    entries: list[PreparedPair | PairReport] = []
    for collection in source_collections:
        try:
            if collection_kind == "calendar":
                mapped = mapper.map_calendar(collection, set(job.components))
            else:
                mapped = mapper.map_addressbook(collection)
        except LookupError:
            continue
        if not mapped.dest:
            if mapped.would_create:
                entries.append(_dry_run_create_report(source, mapped, collection_kind))
            continue
        pair = Pair(
            source,
            dest,
            collection,
            mapped.dest,
            Mode(job.mode),
            Policy(job.conflict_policy),
            frozenset(job.components) | {"VCARD"},
            is_calendar=collection_kind == "calendar",
        )
        sync = PairSync(
            pair,
            OrmLinkStore(job, collection.url, run),
            pair_progress(progress, collection, pair),
            dry_run=dry_run,
            max_attempts=settings.CALSYNC_OWED_MAX_ATTEMPTS,
            outage=outage,
            strict=job.strict,
        )
        sync.prepare(
            source_token=cursors.get(collection.url, ""),
            dest_tokens={url: cursors.get(url, "") for url in pair.dest_urls},
            confirm_empty=confirm_empty,
        )
        entries.append(PreparedPair(collection.name or collection.url, collection_kind, pair, sync, mapped))
    return entries


def _execute(job: SyncJob, entries: list[PreparedPair | PairReport], progress, *, dry_run: bool) -> list[PairReport]:
    reports: list[PairReport] = []
    for index, entry in enumerate(entries):
        if isinstance(entry, PairReport):
            reports.append(entry)
            continue
        pair, sync = entry.pair, entry.sync
        writes_before = _writes(progress)
        try:
            result = sync.execute()
        except ServerDown as exc:
            for later in entries[index + 1 :]:
                if isinstance(later, PreparedPair):
                    later.sync.abandon(str(exc))
            raise
        reports.append(
            PairReport(
                pair.source_collection.url, ", ".join(pair.dest_urls), entry.kind, result.actions,
                entry.mapped.would_create,
            )
        )  # fmt: skip
        if dry_run:
            continue
        if sync.owes:
            # Its tokens stay where they were: the next run lists in full and tries again.
            progress.log("warning", f"{entry.name}: done, with items owed (they are tried again)")
            continue
        dest_tokens = result.dest_tokens
        if _writes(progress) > writes_before and pair.mode != Mode.TWO_WAY:
            dest_tokens = past_own_writes(
                dest=pair.dest, collections=pair.dest_collections.values(), tokens=dest_tokens,
                before=sync.loaded, after=list(sync.records.values()),
            )  # fmt: skip
        _save_cursors(job, {pair.source_collection.url: result.source_token, **dest_tokens})
        progress.log("info", f"{entry.name}: done")
    return reports


def _writes(progress) -> int:
    counters = getattr(progress, "counters", {})
    return sum(counters.get(name, 0) for name in ("created", "updated", "deleted"))


def _dry_run_create_report(source: ItemStore, mapped: MappedCollection, collection_kind: str) -> PairReport:
    listing = source.list_items(mapped.source)
    actions = [
        Action(Op.CREATE_DEST, source_href=href, source_etag=etag, reason="new collection")
        for href, etag in listing.items.items()
    ]
    return PairReport(
        mapped.source.url, "(new) " + ", ".join(mapped.would_create), collection_kind, actions, mapped.would_create
    )


def _save_cursors(job: SyncJob, tokens: dict[str, str]) -> None:
    for url, token in tokens.items():
        if token:
            CollectionCursor.objects.update_or_create(job=job, url=url, defaults={"sync_token": token})


def _kind(data: str) -> str:
    return "carddav" if "BEGIN:VCARD" in data.upper() else "caldav"


def write_chosen(conflict: Conflict, resolution: str) -> None:
    job = conflict.job
    use_source = resolution == Conflict.Resolution.SOURCE
    data = (conflict.source_data if use_source else conflict.dest_data).encode()
    target_account = job.destination if use_source else job.source
    target_href = conflict.dest_href if use_source else conflict.source_href
    target_etag = conflict.dest_etag if use_source else conflict.source_etag
    connector = dav_connector(target_account, _kind(conflict.source_data or conflict.dest_data))
    try:
        written = connector.put(
            RemoteCollection(url=target_account.url, name="", kind=""), data, href=target_href, etag=target_etag
        )
    except PreconditionFailed:
        raise ConflictError(
            "The item changed again since the conflict was recorded. Run the job to refresh the conflict."
        ) from None
    except ConnectorError as exc:
        raise ConflictError(f"The server refused the write: {exc}") from None
    finally:
        connector.close()
    digest = content_hash(data)
    link_values = {"uid": extract_uid(data)[:1000], "source_hash": digest, "dest_hash": digest}
    if use_source:
        link_values.update(dest_href=written.href, dest_etag=written.etag, source_etag=conflict.source_etag)
    else:
        link_values.update(source_href=written.href, source_etag=written.etag, dest_etag=conflict.dest_etag)
    ItemLink.objects.update_or_create(
        job=job,
        source_href=conflict.source_href if use_source else written.href,
        defaults=link_values,
        create_defaults={
            **link_values,
            "source_collection": conflict.source_collection,
            "dest_collection": conflict.dest_collection or job.destination.url,
        },
    )
