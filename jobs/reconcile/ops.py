"""What each planned operation does to the two servers, and the links it leaves behind.

A mixin of ``PairSync`` (``jobs/reconcile/apply.py``): each ``_op_*`` handles one ``Op`` and is
looked up by name; a 412 is re-read and decided again, never overwritten blind.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from accounts.connectors.base import (
    ItemRejected,
    ItemStore,
    NotFound,
    PreconditionFailed,
    PutResult,
    RemoteCollection,
    RemoteItem,
)
from calsync.lib.items import component_kinds, content_hash, extract_uid, strip_method
from jobs.reconcile.pair import LinkRecord, LinkStore, Pair, PairResult, Progress
from jobs.reconcile.plan import Action, Mode, Policy
from jobs.reconcile.repairs import landed_repaired

if TYPE_CHECKING:
    from collections.abc import Callable


def path_of(url: str) -> str:
    return urlsplit(url).path if "://" in url else url


class ItemOps:
    pair: Pair
    store: LinkStore
    progress: Progress
    records: dict[str, LinkRecord]
    by_dest: dict[str, LinkRecord]
    pending: list[LinkRecord]
    forgotten: list[str]
    result: PairResult
    strict: bool
    _fetch_source: Callable[[list[str]], dict[str, RemoteItem]]
    _fetch_dest: Callable[[list[str]], dict[str, RemoteItem]]

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
            written, data = self._write(self.pair.dest, collection, data, uid=uid, item=source.href)
        except PreconditionFailed as exc:
            # An object already sits where this one would go: a crashed run's last write, or an
            # item the server kept. Compare it instead of overwriting it.
            self._adopt_existing(action, source, path_of(exc.url or ""), collection)
            return
        self._remember(source, written.href, written.etag, content_hash(data), collection.url, uid or extract_uid(data))
        self.progress.count(created=1)

    def _write(
        self, side: ItemStore, collection: RemoteCollection, data: bytes, *, item: str, href: str = "", etag: str = "",
        uid: str = "",
    ) -> tuple[PutResult, bytes]:  # fmt: skip
        """PUT ``data``; when the server refuses it for a reason a minimal repair removes, write the
        repaired copy instead (unless the job is strict). Returns what was written."""
        try:
            return side.put(collection, data, href=href, etag=etag, uid=uid), data
        except ItemRejected as refusal:
            repaired = landed_repaired(refusal, data, seed=item, strict=self.strict)
        notes = "; ".join(repaired.repairs)
        try:
            written = side.put(collection, repaired.data, href=href, etag=etag, uid=uid or extract_uid(repaired.data))
        except ItemRejected as again:
            raise ItemRejected(
                f"{again} (also after repairing: {notes})", status=again.status, url=again.url,
                conditions=again.conditions,
            ) from again  # fmt: skip
        self.result.repaired[item] = repaired.repairs
        self.progress.log("info", f"repaired to land (the server refused the original): {notes}", item)
        return written, repaired.data

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
        # Not ours and not what the plan saw: someone created it while this run was working.
        # Overwriting it would lose their version; both wait for a decision (the next run's plan
        # sees it and decides by the job's rules).
        pending = replace(action, dest_href=existing.href, dest_etag=existing.etag)
        reason = "appeared on the destination while this run was writing"
        self.store.conflict(action=pending, source=source, dest=existing, reason=reason)
        self.progress.count(conflicts=1)
        self.progress.log("warning", f"conflict: {reason}; not overwritten", action.source_href)

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
        put = {"item": source.href, "href": action.dest_href}
        try:
            written, data = self._write(self.pair.dest, collection, data, etag=etag, **put)
        except PreconditionFailed:
            # Edited on the destination since we looked: re-read and decide, never overwrite blind.
            fresh = self._fetch_dest([action.dest_href]).get(action.dest_href)
            if fresh is None:
                self._op_create_dest(action, source, None)
                return
            if self.pair.mode == Mode.TWO_WAY:
                self._op_conflict(replace(action, dest_etag=fresh.etag), source, fresh)
                return
            written, data = self._write(self.pair.dest, collection, data, etag=fresh.etag, **put)
        self._remember(source, written.href, written.etag, content_hash(data), collection.url)
        self.progress.count(updated=1)

    def _op_delete_dest(self, action: Action, source: RemoteItem | None, dest: RemoteItem | None) -> None:
        try:
            self.pair.dest.delete(action.dest_href, etag=action.dest_etag)
        except PreconditionFailed:
            if self.pair.mode == Mode.TWO_WAY:  # edited there after the source deleted it: keep the edit
                fresh = self._fetch_dest([action.dest_href]).get(action.dest_href)
                self._op_create_source(action, None, fresh)
                return
            self.pair.dest.delete(action.dest_href)
        except NotFound:
            pass
        self._forget(action.source_href)
        self.progress.count(deleted=1)

    def _op_create_source(self, action: Action, source: RemoteItem | None, dest: RemoteItem | None) -> None:
        if dest is None:
            return
        uid = extract_uid(dest.data)
        written, data = self._write(self.pair.source, self.pair.source_collection, dest.data, uid=uid, item=dest.href)
        if action.source_href:
            self._forget(action.source_href)
        self._remember(
            RemoteItem(written.href, written.etag, data),
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
            written, data = self._write(
                self.pair.source, self.pair.source_collection, dest.data, href=action.source_href, etag=etag,
                item=dest.href,
            )  # fmt: skip
        except PreconditionFailed:
            fresh = self._fetch_source([action.source_href]).get(action.source_href)
            self._op_conflict(action, fresh, dest)
            return
        self._remember(
            RemoteItem(written.href, written.etag, data),
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
                self._op_create_dest(action, fresh, None)
                return
        except NotFound:
            pass
        self._forget(action.source_href)
        self.progress.count(deleted=1)

    def _op_conflict(self, action: Action, source: RemoteItem | None, dest: RemoteItem | None) -> None:
        if source is None or dest is None:
            if dest is None:
                self._op_create_dest(action, source, None)
            else:
                self._op_create_source(action, None, dest)
            return
        if content_hash(source.data) == content_hash(dest.data):
            self._remember(source, dest.href, dest.etag, content_hash(dest.data), self._collection_url_of(dest.href))
            self.progress.count(unchanged=1)
            return
        if self.pair.policy == Policy.SOURCE_WINS:
            self._op_update_dest(replace(action, dest_etag=dest.etag), source, None)
            return
        if self.pair.policy == Policy.DESTINATION_WINS:
            self._op_update_source(replace(action, source_etag=source.etag), source, dest)
            return
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
            if href.startswith(path_of(collection.url)):
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
