"""Execute one SyncRun: connect, map collections, plan every pair, then sync each, and keep the
run row up to date.

The engine's ORM ports live beside it: ``jobs/stores.py`` (links, the owed-items ledger,
conflicts) and ``jobs/progress.py`` (counters, log lines, pause/cancel/requeue requests); how a
run ends (owed counts, follow-ups, going back to the queue) is ``jobs.runs.sync_run_finish``.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.connectors import connector_for
from accounts.connectors.base import Connector, ConnectorError, RemoteCollection, TransientError
from accounts.models import Account
from jobs.engines import UnsupportedJob, engine_for
from jobs.mapping import CollectionMapper, MappedCollection, selected
from jobs.models import CollectionCursor, SyncJob, SyncRun, WriteSlot
from jobs.progress import ClaimLost, RunProgress
from jobs.reconcile.apply import PairSync
from jobs.reconcile.ledger import OutageDetector
from jobs.reconcile.pair import Pair, ServerDown, Stopped
from jobs.reconcile.plan import Action, EmptySideGuard, Mode, Op, Policy
from jobs.reconcile.tokens import past_own_writes
from jobs.runs import sync_run_finish
from jobs.stores import OrmLinkStore

__all__ = ["OrmLinkStore", "PairReport", "RunProgress", "dav_connector", "sync_job_pairs", "sync_run_execute"]

logger = logging.getLogger(__name__)

DAV_KINDS = {"caldav", "carddav"}


class NoWriteSlot(Exception):
    """Every write slot for the destination server is taken; try again shortly."""


# --- ORM adapters ------------------------------------------------------------------------------


# --- write slots -------------------------------------------------------------------------------


@contextmanager
def write_slot(host: str, run: SyncRun) -> Iterator[None]:
    """Hold one of CALSYNC_WRITES_PER_SERVER slots for ``host`` while the run writes there."""
    stale = timezone.now() - timezone.timedelta(seconds=settings.CALSYNC_RUN_STALE_SECONDS)
    # A run holds one slot at most: one it still owns was left by an attempt whose worker died
    # (recovered runs are claimed again before anything else frees it), and must not count twice.
    WriteSlot.objects.filter(run=run).delete()
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
    """CalDAV/CardDAV → CalDAV/CardDAV: every mapped calendar and address book.

    Every collection pair is listed and planned before the first write, so the run's total is
    known from the start; then the pairs are written one after the other.
    """
    kinds = []
    if job.sync_calendars:
        kinds.append(("caldav", "calendar"))
    if job.sync_contacts:
        kinds.append(("carddav", "addressbook"))
    connectors: list[Connector] = []
    outage = OutageDetector(settings.CALSYNC_SERVER_DOWN_AFTER)
    try:
        entries: list[PreparedPair | PairReport] = []
        for connector_kind, collection_kind in kinds:
            source = dav_connector(job.source, connector_kind)
            dest = dav_connector(job.destination, connector_kind)
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


def sync_run_claim(run_id: int, worker: str = "") -> SyncRun | None:
    """queued → running, as a compare-and-set: a redelivered task message claims nothing."""
    now = timezone.now()
    claimed = SyncRun.objects.filter(
        pk=run_id, status=SyncRun.Status.QUEUED
    ).update(
        status=SyncRun.Status.RUNNING,
        started_at=Coalesce("started_at", Value(now)),  # a resumed run keeps its first start
        heartbeat_at=now,
        attempts=F("attempts") + 1,
        worker=worker[:200],
        requeue_requested=False,
    )
    if claimed != 1:
        return None
    return SyncRun.objects.select_related("job__source", "job__destination").get(pk=run_id)


def _started(run: SyncRun, progress) -> None:
    job = run.job
    if run.attempts > 1 or run.progress_done:
        progress.log(
            "info",
            f"run resumed (attempt {run.attempts}, {run.trigger}): {run.progress_done} of "
            f"{run.progress_total} steps were done before; mode {job.mode}",
        )
    else:
        progress.log("info", f"run started ({run.trigger}), mode {job.mode}")


def sync_run_execute(
    run_id: int, *, progress_class: type[RunProgress] = RunProgress, worker: str = ""
) -> SyncRun | None:
    """Run a queued run to its end (or to a pause/cancel point). Returns the run, or None if it
    was not ours to run."""
    run = sync_run_claim(run_id, worker)
    if run is None:
        return None
    job = run.job
    progress = progress_class(run)
    started = time.monotonic()
    status, error, transient = SyncRun.Status.COMPLETED, "", False
    try:
        host = urlsplit(job.destination.url).netloc.lower()
        with write_slot(host, run):
            _started(run, progress)
            sync_job_pairs(job, progress, run=run, confirm_empty=run.confirm_empty)
    except Stopped:
        status = _stopped_status(run)
        if status == SyncRun.Status.QUEUED:
            progress.log("warning", "the worker is stopping: the run goes back to the queue and resumes from here")
        else:
            progress.log("info", f"run {status} at a clean point")
    except NoWriteSlot:
        progress.flush()
        # The heartbeat says when it bounced: a run queued long after that lost its retry message.
        SyncRun.objects.filter(pk=run.pk).update(status=SyncRun.Status.QUEUED, heartbeat_at=timezone.now())
        raise
    except ClaimLost as exc:
        logger.warning("%s: attempt %s stops and leaves the run to its new worker", exc, run.attempts)
        return None
    except (EmptySideGuard, UnsupportedJob) as exc:
        status, error = SyncRun.Status.FAILED, str(exc)
    except ServerDown as exc:
        status, error, transient = SyncRun.Status.FAILED, f"stopped early: {exc}", True
    except TransientError as exc:
        status, error, transient = SyncRun.Status.FAILED, f"the server did not answer reliably: {exc}", True
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
    try:
        sync_run_finish(run=run, progress=progress, status=status, error=error, transient=transient)
    except ClaimLost as exc:
        logger.warning("%s: attempt %s leaves its ending to the new worker", exc, run.attempts)
        return None
    run.refresh_from_db()
    return run


def _stopped_status(run: SyncRun) -> str:
    flags = SyncRun.objects.filter(pk=run.pk).values("cancel_requested", "pause_requested").get()
    if flags["cancel_requested"]:
        return SyncRun.Status.CANCELLED
    if flags["pause_requested"]:
        return SyncRun.Status.PAUSED
    return SyncRun.Status.QUEUED  # its worker is shutting down


def _flag_account(job: SyncJob, exc: ConnectorError) -> None:
    # Which side failed is in the URL the error names; flag both only when we cannot tell.
    for account in (job.source, job.destination):
        if not exc.url or urlsplit(account.url).netloc == urlsplit(exc.url).netloc:
            Account.objects.filter(pk=account.pk).update(
                last_check_ok=False, last_check_message=str(exc)[:2000], last_checked_at=timezone.now()
            )
