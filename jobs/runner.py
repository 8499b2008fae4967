"""Execute one SyncRun: connect, map collections, sync each pair, keep the run row up to date.

The ORM side of the engine lives here: ``OrmLinkStore`` keeps ``ItemLink`` rows, ``RunProgress``
buffers counters and log lines and writes them at each checkpoint (one UPDATE and one INSERT per
batch, not per item), and reads pause/cancel requests at the same clean points.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.connectors import connector_for
from accounts.connectors.base import Connector, ConnectorError, RemoteItem, TransientError
from accounts.models import Account
from jobs.engines import UnsupportedJob, engine_for
from jobs.mapping import CollectionMapper, MappedCollection, selected
from jobs.models import CollectionCursor, Conflict, ItemLink, SyncJob, SyncLog, SyncRun, WriteSlot
from jobs.reconcile.apply import PairSync
from jobs.reconcile.pair import LinkRecord, Pair, Stopped
from jobs.reconcile.plan import Action, EmptySideGuard, Mode, Op, Policy
from jobs.reconcile.tokens import past_own_writes

logger = logging.getLogger(__name__)

DAV_KINDS = {"caldav", "carddav"}


class NoWriteSlot(Exception):
    """Every write slot for the destination server is taken; try again shortly."""


# --- ORM adapters ------------------------------------------------------------------------------


class OrmLinkStore:
    def __init__(self, job: SyncJob, source_collection: str, run: SyncRun | None = None) -> None:
        self.job = job
        self.source_collection = source_collection
        self.run = run

    def load(self) -> list[LinkRecord]:
        rows = ItemLink.objects.filter(job=self.job, source_collection=self.source_collection).values_list(
            "source_href", "dest_href", "dest_collection", "uid", "source_etag", "source_hash", "dest_etag", "dest_hash"
        )
        return [LinkRecord(*row) for row in rows]

    def save(self, records: Iterable[LinkRecord]) -> None:
        records = list(records)
        now = timezone.now()
        with transaction.atomic():
            # A destination href can move to another source item (two-way re-creation); drop the
            # stale pairing first so the unique constraints hold.
            ItemLink.objects.filter(job=self.job, dest_href__in=[r.dest_href for r in records]).exclude(
                source_href__in=[r.source_href for r in records]
            ).delete()
            ItemLink.objects.bulk_create(
                [
                    ItemLink(
                        job=self.job,
                        source_collection=self.source_collection,
                        dest_collection=r.dest_collection,
                        uid=r.uid[:1000],
                        source_href=r.source_href,
                        source_etag=r.source_etag,
                        source_hash=r.source_hash,
                        dest_href=r.dest_href,
                        dest_etag=r.dest_etag,
                        dest_hash=r.dest_hash,
                        synced_at=now,
                    )
                    for r in records
                ],
                update_conflicts=True,
                unique_fields=["job", "source_href"],
                update_fields=[
                    "dest_collection",
                    "uid",
                    "source_etag",
                    "source_hash",
                    "dest_href",
                    "dest_etag",
                    "dest_hash",
                    "synced_at",
                ],
            )

    def forget(self, source_hrefs: Iterable[str]) -> None:
        ItemLink.objects.filter(job=self.job, source_href__in=list(source_hrefs)).delete()

    def conflict(self, *, action: Action, source: RemoteItem | None, dest: RemoteItem | None, reason: str) -> None:
        link = ItemLink.objects.filter(job=self.job, source_href=action.source_href).first()
        values = {
            "run": self.run,
            "link": link,
            "source_collection": self.source_collection,
            "dest_collection": link.dest_collection if link else "",
            "source_etag": source.etag if source else "",
            "source_data": source.data.decode("utf-8", "replace") if source else "",
            "dest_etag": dest.etag if dest else "",
            "dest_data": dest.data.decode("utf-8", "replace") if dest else "",
            "reason": reason,
        }
        # One open conflict per item pair: a conflict that waits for a human is refreshed by
        # later runs, not repeated.
        Conflict.objects.update_or_create(
            job=self.job,
            source_href=action.source_href,
            dest_href=action.dest_href,
            resolution="",
            defaults=values,
            create_defaults={**values, "uid": _uid(source or dest)},
        )


def _uid(item: RemoteItem | None) -> str:
    from jobs.reconcile.items import extract_uid

    return extract_uid(item.data)[:1000] if item else ""


@dataclass
class RunProgress:
    """Counters and log lines of a run, written at checkpoints; pause/cancel read there too."""

    run: SyncRun
    counters: dict[str, int] = field(default_factory=dict)
    lines: list[SyncLog] = field(default_factory=list)
    total: int = 0

    COUNTERS = ("created", "updated", "deleted", "unchanged", "conflicts", "errors")

    def log(self, level: str, message: str, item: str = "") -> None:
        self.lines.append(SyncLog(run=self.run, level=level, message=message[:5000], item=item[:1000]))
        if level == "error":
            logger.warning("run %s: %s %s", self.run.pk, message, item)

    def count(self, **counters: int) -> None:
        for name, value in counters.items():
            self.counters[name] = self.counters.get(name, 0) + value

    def planned(self, total: int) -> None:
        self.total += total

    def checkpoint(self) -> bool:
        self.flush()
        flags = SyncRun.objects.filter(pk=self.run.pk).values("pause_requested", "cancel_requested").first() or {}
        return not (flags.get("pause_requested") or flags.get("cancel_requested"))

    def flush(self) -> None:
        if self.lines:
            SyncLog.objects.bulk_create(self.lines)
            self.lines = []
        values = {name: self.counters.get(name, 0) for name in self.COUNTERS}
        values.update(
            progress_done=self.counters.get("done", 0),
            progress_total=max(self.total, self.counters.get("done", 0)),
            heartbeat_at=timezone.now(),
        )
        SyncRun.objects.filter(pk=self.run.pk).update(**values)


# --- write slots -------------------------------------------------------------------------------


@contextmanager
def write_slot(host: str, run: SyncRun) -> Iterator[None]:
    """Hold one of CALSYNC_WRITES_PER_SERVER slots for ``host`` while the run writes there."""
    stale = timezone.now() - timezone.timedelta(seconds=settings.CALSYNC_RUN_STALE_SECONDS)
    WriteSlot.objects.filter(host=host).exclude(run__status=SyncRun.Status.RUNNING).delete()
    WriteSlot.objects.filter(host=host, run__heartbeat_at__lt=stale).delete()
    taken = None
    for slot in range(settings.CALSYNC_WRITES_PER_SERVER):
        try:
            with transaction.atomic():
                taken = WriteSlot.objects.create(host=host, slot=slot, run=run)
            break
        except IntegrityError:
            continue
    if taken is None:
        raise NoWriteSlot(host)
    try:
        yield
    finally:
        taken.delete()


# --- execution ---------------------------------------------------------------------------------


def dav_connector(account: Account, kind: str) -> Connector:
    """A CalDAV or CardDAV connector for ``account``: one server usually serves both."""
    return connector_for(replace(account.connector_config(), kind=kind))


@dataclass
class PairReport:
    source: str
    destination: str
    kind: str
    actions: list[Action]
    would_create: list[str]


def sync_job_pairs(
    job: SyncJob, progress, *, run: SyncRun | None = None, dry_run: bool = False, confirm_empty: bool = False
) -> list[PairReport]:
    """Sync (or, with ``dry_run``, only plan) ``job`` with the engine for its pair of account kinds."""
    return engine_for(job)(job, progress, run=run, dry_run=dry_run, confirm_empty=confirm_empty)


def sync_dav_job(
    job: SyncJob, progress, *, run: SyncRun | None = None, dry_run: bool = False, confirm_empty: bool = False
) -> list[PairReport]:
    """CalDAV/CardDAV → CalDAV/CardDAV: every mapped calendar and address book."""
    reports: list[PairReport] = []
    kinds = []
    if job.sync_calendars:
        kinds.append(("caldav", "calendar"))
    if job.sync_contacts:
        kinds.append(("carddav", "addressbook"))
    for connector_kind, collection_kind in kinds:
        source = dav_connector(job.source, connector_kind)
        dest = dav_connector(job.destination, connector_kind)
        try:
            reports += _sync_kind(
                job, source, dest, collection_kind, progress, run=run, dry_run=dry_run, confirm_empty=confirm_empty
            )
        finally:
            source.close()
            dest.close()
    return reports


def _sync_kind(job, source, dest, collection_kind, progress, *, run, dry_run, confirm_empty) -> list[PairReport]:
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
    reports = []
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
                reports.append(_dry_run_create_report(source, mapped, collection_kind))
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
        store = OrmLinkStore(job, collection.url, run)
        writes_before = _writes(progress)
        sync = PairSync(pair, store, progress, dry_run=dry_run)
        result = sync.run(
            source_token=cursors.get(collection.url, ""),
            dest_tokens={url: cursors.get(url, "") for url in pair.dest_urls},
            confirm_empty=confirm_empty,
        )
        reports.append(
            PairReport(collection.url, ", ".join(pair.dest_urls), collection_kind, result.actions, mapped.would_create)
        )
        if not dry_run:
            dest_tokens = result.dest_tokens
            if _writes(progress) > writes_before and pair.mode != Mode.TWO_WAY:
                dest_tokens = past_own_writes(
                    dest=dest, collections=pair.dest_collections.values(), tokens=dest_tokens,
                    before=sync.loaded, after=list(sync.records.values()),
                )  # fmt: skip
            _save_cursors(job, {collection.url: result.source_token, **dest_tokens})
            progress.log("info", f"{collection.name or collection.url}: done")
    return reports


def _writes(progress) -> int:
    counters = getattr(progress, "counters", {})
    return sum(counters.get(name, 0) for name in ("created", "updated", "deleted"))


def _dry_run_create_report(source: Connector, mapped: MappedCollection, collection_kind: str) -> PairReport:
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


def sync_run_claim(run_id: int) -> SyncRun | None:
    """queued → running, as a compare-and-set: a redelivered task message claims nothing."""
    now = timezone.now()
    claimed = SyncRun.objects.filter(pk=run_id, status=SyncRun.Status.QUEUED).update(
        status=SyncRun.Status.RUNNING,
        started_at=Coalesce("started_at", Value(now)),  # a resumed run keeps its first start
        heartbeat_at=now,
        attempts=F("attempts") + 1,
    )
    if claimed != 1:
        return None
    return SyncRun.objects.select_related("job__source", "job__destination").get(pk=run_id)


def sync_run_execute(run_id: int, *, progress_class: type[RunProgress] = RunProgress) -> SyncRun | None:
    """Run a queued run to its end (or to a pause/cancel point). Returns the run, or None if it
    was not ours to run."""
    run = sync_run_claim(run_id)
    if run is None:
        return None
    job = run.job
    progress = progress_class(run)
    started = time.monotonic()
    status, error = SyncRun.Status.COMPLETED, ""
    try:
        host = urlsplit(job.destination.url).netloc.lower()
        with write_slot(host, run):
            progress.log("info", f"run started ({run.trigger}), mode {job.mode}")
            sync_job_pairs(job, progress, run=run, confirm_empty=run.confirm_empty)
    except Stopped:
        flags = SyncRun.objects.filter(pk=run.pk).values("cancel_requested").get()
        status = SyncRun.Status.CANCELLED if flags["cancel_requested"] else SyncRun.Status.PAUSED
        progress.log("info", f"run {status} at a clean point")
    except NoWriteSlot:
        progress.flush()
        SyncRun.objects.filter(pk=run.pk).update(status=SyncRun.Status.QUEUED)
        raise
    except (EmptySideGuard, UnsupportedJob) as exc:
        status, error = SyncRun.Status.FAILED, str(exc)
    except TransientError as exc:
        status, error = SyncRun.Status.FAILED, f"the server did not answer reliably: {exc}"
    except ConnectorError as exc:
        status, error = SyncRun.Status.FAILED, str(exc)
        if exc.permanent:
            _flag_account(job, exc)
    except Exception as exc:  # the run must end in a state a human can see, whatever happened
        logger.exception("run %s crashed", run.pk)
        status, error = SyncRun.Status.FAILED, f"internal error: {exc.__class__.__name__}: {exc}"
        progress.log("error", traceback.format_exc(limit=5))
    if error:
        progress.log("error", error)
    progress.log("info", f"run {status} in {time.monotonic() - started:.1f} s")
    progress.flush()
    finished = (
        timezone.now()
        if status in (SyncRun.Status.COMPLETED, SyncRun.Status.FAILED, SyncRun.Status.CANCELLED)
        else None
    )
    SyncRun.objects.filter(pk=run.pk).update(
        status=status, error=error, finished_at=finished, pause_requested=False, cancel_requested=False
    )
    run.refresh_from_db()
    return run


def _flag_account(job: SyncJob, exc: ConnectorError) -> None:
    # Which side failed is in the URL the error names; flag both only when we cannot tell.
    for account in (job.source, job.destination):
        if not exc.url or urlsplit(account.url).netloc == urlsplit(exc.url).netloc:
            Account.objects.filter(pk=account.pk).update(
                last_check_ok=False, last_check_message=str(exc)[:2000], last_checked_at=timezone.now()
            )
