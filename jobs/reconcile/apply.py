"""Carry out a plan for one collection pair, batch by batch, remembering each item as it lands.

``sync_pair`` lists both sides, plans, fetches only the items the plan names, writes them, and
records an ``ItemLink`` per finished item through a ``LinkStore``. Between batches it asks the
``Progress`` whether to stop (pause, cancel), so a stop or a crash loses at most the batch in
flight, and the next run re-plans from the links without duplicating anything.
"""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlsplit

from accounts.connectors.base import (
    ConnectorError,
    ItemRejected,
    Listing,
    NotFound,
    PreconditionFailed,
    RemoteCollection,
    RemoteItem,
)
from jobs.reconcile.items import component_kinds, content_hash, extract_uid, strip_method
from jobs.reconcile.pair import LinkRecord, LinkStore, Pair, PairResult, Progress, Stopped
from jobs.reconcile.plan import (
    Action,
    EmptySideGuard,
    Fingerprint,
    Mode,
    Op,
    Policy,
    SideListing,
    dest_only_actions,
    pair_unlinked,
    plan_actions,
)

BATCH = 100


def _path(url: str) -> str:
    return urlsplit(url).path if "://" in url else url


def _as_delta(listing: Listing, known: set[str]) -> SideListing:
    """Express a listing as a delta over ``known`` hrefs so several collections can be merged."""
    if listing.complete:
        return SideListing(dict(listing.items), complete=False, deleted=known - set(listing.items))
    return SideListing(dict(listing.items), complete=False, deleted=set(listing.deleted))


class PairSync:
    def __init__(
        self,
        pair: Pair,
        store: LinkStore,
        progress: Progress,
        *,
        dry_run: bool = False,
        loaded: list[LinkRecord] | None = None,
    ) -> None:
        self.pair = pair
        self.store = store
        self.progress = progress
        self.dry_run = dry_run
        # The links as the run found them (a caller that already read them passes them in);
        # ``records`` follows the run and ends as the links it leaves behind.
        self.loaded = store.load() if loaded is None else loaded
        self.records: dict[str, LinkRecord] = {record.source_href: record for record in self.loaded}
        self.by_dest: dict[str, LinkRecord] = {record.dest_href: record for record in self.records.values()}
        self.pending: list[LinkRecord] = []
        self.forgotten: list[str] = []

    # --- listing and planning ------------------------------------------------------------------

    def run(
        self, *, source_token: str = "", dest_tokens: dict[str, str] | None = None, confirm_empty: bool = False
    ) -> PairResult:
        pair = self.pair
        dest_tokens = dest_tokens or {}
        # Without links, a token would hide what is already there: list fully the first time.
        source_listing = pair.source.list_items(pair.source_collection, sync_token=source_token if self.records else "")
        dest_listings = {
            url: pair.dest.list_items(collection, sync_token=dest_tokens.get(url, "") if self.records else "")
            for url, collection in {c.url: c for c in pair.dest_collections.values()}.items()
        }
        result = PairResult(
            source_token=source_listing.sync_token,
            dest_tokens={url: listing.sync_token for url, listing in dest_listings.items()},
        )
        if pair.mode == Mode.TWO_WAY and not confirm_empty:
            for url, listing in dest_listings.items():
                known = [r for r in self.records.values() if r.dest_collection == url]
                if listing.complete and not listing.items and known:
                    raise EmptySideGuard(
                        f"The destination collection {url} lists no items, but {len(known)} were synced before. "
                        "Refusing to delete them from the source; run again with the empty-side confirmation."
                    )
        dest = SideListing({}, complete=False)
        for url, listing in dest_listings.items():
            known = {r.dest_href for r in self.records.values() if r.dest_collection == url}
            part = _as_delta(listing, known)
            dest.items.update(part.items)
            dest.deleted |= part.deleted

        plan = plan_actions(
            SideListing(source_listing.items, source_listing.complete, set(source_listing.deleted)),
            dest,
            [record.as_link() for record in self.records.values()],
            mode=pair.mode,
            confirm_empty=confirm_empty,
        )
        self.progress.count(unchanged=plan.unchanged)
        unlinked_dest = self._fingerprints_of_unlinked_dest(plan.unlinked_dest, bool(plan.new_in_source))
        total = len(plan.actions) + len(plan.new_in_source)
        if pair.mode == Mode.TWO_WAY:
            total += len(unlinked_dest)
        self.progress.planned(total)

        self._apply(plan.actions, result)
        self._apply_new(plan.new_in_source, unlinked_dest, result)
        if pair.mode == Mode.TWO_WAY:
            self._apply(dest_only_actions(unlinked_dest), result)
        self._flush()
        return result

    def _fingerprints_of_unlinked_dest(self, unlinked: dict[str, str], have_new: bool) -> dict[str, Fingerprint]:
        # Fetching the destination's unlinked items costs a multiget; it is only worth it when
        # something could pair with them.
        if not unlinked or not (have_new or self.pair.mode == Mode.TWO_WAY):
            return {}
        fingerprints = {}
        for item in self._fetch_dest(list(unlinked)).values():
            fingerprints[item.href] = Fingerprint(extract_uid(item.data), content_hash(item.data), item.etag)
        return fingerprints

    # --- fetching ------------------------------------------------------------------------------

    def _fetch_source(self, hrefs: list[str]) -> dict[str, RemoteItem]:
        if not hrefs:
            return {}
        return {item.href: item for item in self.pair.source.fetch(self.pair.source_collection, hrefs)}

    def _fetch_dest(self, hrefs: list[str]) -> dict[str, RemoteItem]:
        found: dict[str, RemoteItem] = {}
        for collection in {c.url: c for c in self.pair.dest_collections.values()}.values():
            wanted = [href for href in hrefs if href.startswith(_path(collection.url)) and href not in found]
            if wanted:
                found.update({item.href: item for item in self.pair.dest.fetch(collection, wanted)})
        return found

    # --- applying ------------------------------------------------------------------------------

    def _apply_new(
        self, new_in_source: dict[str, str], unlinked_dest: dict[str, Fingerprint], result: PairResult
    ) -> None:
        remaining = dict(unlinked_dest)
        hrefs = list(new_in_source)
        for start in range(0, len(hrefs), BATCH):
            items = self._fetch_source(hrefs[start : start + BATCH])
            fingerprints = {
                href: Fingerprint(extract_uid(item.data), content_hash(item.data), item.etag)
                for href, item in items.items()
            }
            actions = pair_unlinked(fingerprints, remaining, mode=self.pair.mode, dest_only=False)
            for action in actions:
                remaining.pop(action.dest_href, None)
            self._apply(actions, result, source_items=items)
        unlinked_dest.clear()
        unlinked_dest.update(remaining)

    def _apply(
        self, actions: list[Action], result: PairResult, *, source_items: dict[str, RemoteItem] | None = None
    ) -> None:
        result.actions.extend(actions)
        if self.dry_run:
            return
        for start in range(0, len(actions), BATCH):
            batch = actions[start : start + BATCH]
            src = dict(source_items or {})
            src.update(
                self._fetch_source([a.source_href for a in batch if _needs_source(a) and a.source_href not in src])
            )
            dst = self._fetch_dest([a.dest_href for a in batch if _needs_dest(a)])
            _warm([*src.values(), *dst.values()], calendar=self.pair.is_calendar)
            for action in batch:
                self._apply_one(action, src.get(action.source_href), dst.get(action.dest_href))
            self._flush()
            if not self.progress.checkpoint():
                raise Stopped()

    def _apply_one(self, action: Action, source: RemoteItem | None, dest: RemoteItem | None) -> None:
        item = action.source_href or action.dest_href
        try:
            handler = getattr(self, f"_op_{action.op.name.lower()}")
            handler(action, source, dest)
        except ItemRejected as exc:
            self.progress.count(errors=1)
            self.progress.log("error", f"{action.op.value} refused by the server: {exc}", item)
        except ConnectorError as exc:
            if exc.permanent:
                raise
            self.progress.count(errors=1)
            self.progress.log("error", f"{action.op.value} failed: {exc}", item)
        self.progress.count(done=1)

    # Each _op_* handles one Op; they are looked up by name in _apply_one.

    def _op_create_dest(self, action: Action, source: RemoteItem | None, dest: RemoteItem | None) -> None:
        if source is None:
            self.progress.log("warning", "vanished from the source before it could be copied", action.source_href)
            return
        data = strip_method(source.data) if self.pair.is_calendar else source.data
        collection = self.pair.dest_for(data)
        if collection is None:
            self.progress.log(
                "info",
                f"skipped: {', '.join(sorted(component_kinds(data))) or 'no component'} not synced",
                action.source_href,
            )
            self.progress.count(unchanged=1)
            return
        uid = extract_uid(data)
        try:
            written = self.pair.dest.put(collection, data, uid=uid)
        except PreconditionFailed as exc:
            # An object already sits where this one would go: a crashed run's last write, or an
            # item the server kept. Compare it instead of overwriting it.
            self._adopt_existing(action, source, _path(exc.url or ""), collection)
            return
        self._remember(source, written.href, written.etag, content_hash(data), collection.url, uid)
        self.progress.count(created=1)

    def _adopt_existing(self, action: Action, source: RemoteItem, href: str, collection: RemoteCollection) -> None:
        owner = self.by_dest.get(href)
        if owner is not None and owner.source_href != source.href:
            # Two source objects share a UID (it happens: broken exporters, copied events). Only
            # one can own the destination object, or every run would overwrite the other.
            raise ItemRejected(f"duplicate UID {extract_uid(source.data)!r}: {owner.source_href} already holds it")
        existing = self._fetch_dest([href]).get(href) if href else None
        if existing is None:
            raise ItemRejected("the server refused to create it (412) and no object is at its URL")
        if content_hash(existing.data) == content_hash(source.data):
            self._remember(source, existing.href, existing.etag, content_hash(existing.data), collection.url)
            self.progress.count(unchanged=1)
            return
        self._op_update_dest(replace(action, dest_href=existing.href, dest_etag=existing.etag), source, existing)

    def _op_update_dest(self, action: Action, source: RemoteItem | None, dest: RemoteItem | None) -> None:
        if source is None:
            return
        record = self.records.get(action.source_href)
        data = strip_method(source.data) if self.pair.is_calendar else source.data
        new_hash = content_hash(data)
        collection_url = record.dest_collection if record else self._collection_url_of(action.dest_href)
        if dest is not None and content_hash(dest.data) == new_hash:
            self._remember(source, dest.href, dest.etag, new_hash, collection_url)
            self.progress.count(unchanged=1)
            return
        collection = self._collection(collection_url)
        etag = dest.etag if dest is not None else action.dest_etag
        try:
            written = self.pair.dest.put(collection, data, href=action.dest_href, etag=etag)
        except PreconditionFailed:
            # Edited on the destination since we looked: re-read and decide, never overwrite blind.
            fresh = self._fetch_dest([action.dest_href]).get(action.dest_href)
            if fresh is None:
                return self._op_create_dest(action, source, None)
            if self.pair.mode == Mode.TWO_WAY:
                return self._op_conflict(replace(action, dest_etag=fresh.etag), source, fresh)
            written = self.pair.dest.put(collection, data, href=action.dest_href, etag=fresh.etag)
        self._remember(source, written.href, written.etag, new_hash, collection.url)
        self.progress.count(updated=1)

    def _op_delete_dest(self, action: Action, source: RemoteItem | None, dest: RemoteItem | None) -> None:
        try:
            self.pair.dest.delete(action.dest_href, etag=action.dest_etag)
        except PreconditionFailed:
            if self.pair.mode == Mode.TWO_WAY:  # edited there after the source deleted it: keep the edit
                fresh = self._fetch_dest([action.dest_href]).get(action.dest_href)
                return self._op_create_source(action, None, fresh)
            self.pair.dest.delete(action.dest_href)
        except NotFound:
            pass
        self._forget(action.source_href)
        self.progress.count(deleted=1)

    def _op_create_source(self, action: Action, source: RemoteItem | None, dest: RemoteItem | None) -> None:
        if dest is None:
            return
        uid = extract_uid(dest.data)
        written = self.pair.source.put(self.pair.source_collection, dest.data, uid=uid)
        if action.source_href:
            self._forget(action.source_href)
        self._remember(
            RemoteItem(written.href, written.etag, dest.data),
            dest.href,
            dest.etag,
            content_hash(dest.data),
            self._collection_url_of(dest.href),
            uid,
        )
        self.progress.count(created=1)

    def _op_update_source(self, action: Action, source: RemoteItem | None, dest: RemoteItem | None) -> None:
        if dest is None:
            return
        record = self.records.get(action.source_href)
        if source is not None and content_hash(source.data) == content_hash(dest.data):
            self._remember(source, dest.href, dest.etag, content_hash(dest.data), self._collection_url_of(dest.href))
            self.progress.count(unchanged=1)
            return
        etag = source.etag if source is not None else action.source_etag
        try:
            written = self.pair.source.put(self.pair.source_collection, dest.data, href=action.source_href, etag=etag)
        except PreconditionFailed:
            fresh = self._fetch_source([action.source_href]).get(action.source_href)
            return self._op_conflict(action, fresh, dest)
        self._remember(
            RemoteItem(written.href, written.etag, dest.data),
            dest.href,
            dest.etag,
            content_hash(dest.data),
            record.dest_collection if record else self._collection_url_of(dest.href),
        )
        self.progress.count(updated=1)

    def _op_delete_source(self, action: Action, source: RemoteItem | None, dest: RemoteItem | None) -> None:
        try:
            self.pair.source.delete(action.source_href, etag=action.source_etag)
        except PreconditionFailed:
            fresh = self._fetch_source([action.source_href]).get(action.source_href)
            if fresh is not None:
                return self._op_create_dest(action, fresh, None)
        except NotFound:
            pass
        self._forget(action.source_href)
        self.progress.count(deleted=1)

    def _op_conflict(self, action: Action, source: RemoteItem | None, dest: RemoteItem | None) -> None:
        if source is None or dest is None:
            return (
                self._op_create_dest(action, source, None)
                if dest is None
                else self._op_create_source(action, None, dest)
            )
        if content_hash(source.data) == content_hash(dest.data):
            self._remember(source, dest.href, dest.etag, content_hash(dest.data), self._collection_url_of(dest.href))
            self.progress.count(unchanged=1)
            return
        if self.pair.policy == Policy.SOURCE_WINS:
            return self._op_update_dest(replace(action, dest_etag=dest.etag), source, None)
        if self.pair.policy == Policy.DESTINATION_WINS:
            return self._op_update_source(replace(action, source_etag=source.etag), source, dest)
        self.store.conflict(action=action, source=source, dest=dest, reason=action.reason or "changed on both sides")
        self.progress.count(conflicts=1)
        self.progress.log("warning", f"conflict: {action.reason}; waiting for a decision", action.source_href)

    def _op_link(self, action: Action, source: RemoteItem | None, dest: RemoteItem | None) -> None:
        if source is None:
            return
        data = strip_method(source.data) if self.pair.is_calendar else source.data
        self._remember(
            source, action.dest_href, action.dest_etag, content_hash(data), self._collection_url_of(action.dest_href)
        )
        self.progress.count(unchanged=1)

    def _op_forget(self, action: Action, source: RemoteItem | None, dest: RemoteItem | None) -> None:
        self._forget(action.source_href)

    # --- link bookkeeping ----------------------------------------------------------------------

    def _collection_url_of(self, href: str) -> str:
        for collection in self.pair.dest_collections.values():
            if href.startswith(_path(collection.url)):
                return collection.url
        return next(iter(self.pair.dest_collections.values())).url

    def _collection(self, url: str) -> RemoteCollection:
        for collection in self.pair.dest_collections.values():
            if collection.url == url:
                return collection
        return next(iter(self.pair.dest_collections.values()))

    def _remember(
        self, source: RemoteItem, dest_href: str, dest_etag: str, dest_hash: str, collection: str, uid: str = ""
    ) -> None:
        record = LinkRecord(
            source_href=source.href,
            dest_href=dest_href,
            dest_collection=collection,
            uid=uid or extract_uid(source.data),
            source_etag=source.etag,
            source_hash=content_hash(source.data),
            dest_etag=dest_etag,
            dest_hash=dest_hash,
        )
        old = self.by_dest.get(dest_href)
        if old is not None and old.source_href != source.href:
            self._forget(old.source_href)
        self.records[source.href] = record
        self.by_dest[dest_href] = record
        self.pending.append(record)

    def _forget(self, source_href: str) -> None:
        record = self.records.pop(source_href, None)
        if record is not None:
            self.by_dest.pop(record.dest_href, None)
        self.forgotten.append(source_href)

    def _flush(self) -> None:
        if self.forgotten:
            self.store.forget(self.forgotten)
            self.forgotten = []
        if self.pending:
            self.store.save(self.pending)
            self.pending = []


def _warm(items: list[RemoteItem], *, calendar: bool) -> None:
    """Compute what the batch will ask of each item now, in one loop, before the requests.

    Between two server round trips the CPU caches are cold; doing this work there made it cost
    several times more CPU than in a tight loop (the results are memoised in ``items``).
    """
    for item in items:
        data = strip_method(item.data) if calendar else item.data
        content_hash(data)
        content_hash(item.data)
        extract_uid(data)
        component_kinds(data)


def _needs_source(action: Action) -> bool:
    return action.op in (Op.CREATE_DEST, Op.UPDATE_DEST, Op.CONFLICT, Op.LINK) or (
        action.op == Op.UPDATE_SOURCE and bool(action.source_href)
    )


def _needs_dest(action: Action) -> bool:
    return action.op in (Op.UPDATE_DEST, Op.CREATE_SOURCE, Op.UPDATE_SOURCE, Op.CONFLICT)
