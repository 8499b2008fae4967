"""An in-memory DAV server and connector that keep the connector contract, for fast engine tests.

Real-server behaviour is covered by the contract suite against Radicale and Xandikos; this fake
exists so the sync engine can be driven through thousands of random histories in seconds, and so
failures that real servers only show now and then (412 races, refused items, no ETag, a crash
after the N-th write) can be provoked on purpose.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from accounts.connectors.base import (
    CheckResult,
    ItemRejected,
    Listing,
    NotFound,
    PreconditionFailed,
    PutResult,
    RemoteCollection,
    RemoteItem,
    TransientError,
)
from calsync.lib.items import component_kinds, extract_uid

VALID_CALENDAR_DATA = "{urn:ietf:params:xml:ns:caldav}valid-calendar-data"


@dataclass
class MemoryCollection:
    meta: RemoteCollection
    items: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # href → (etag, data)
    changes: list[tuple[int, str]] = field(default_factory=list)  # (revision, href)


class Crash(Exception):
    """Raised by a server told to die after N writes: the engine's view of a killed worker."""


class MemoryServer:
    def __init__(self, name: str = "mem", *, mixed_components: bool = True) -> None:
        self.name = name
        self.collections: dict[str, MemoryCollection] = {}
        self.revision = itertools.count(1)
        self.mixed_components = mixed_components
        self.writes = 0
        self.crash_after: int | None = None
        self.refuse_uids: set[str] = set()
        # Validation stricter than the RFCs, as Cyrus's: data this says is invalid gets a 403
        # with CALDAV:valid-calendar-data and the returned reason.
        self.invalid: Callable[[bytes], str] | None = None
        # Outages on purpose: ``down`` refuses every connection once ``down_after_writes`` more
        # writes have landed; ``unreadable`` hrefs answer reads with 500.
        self.down = False
        self.down_after_writes: int | None = None
        self.unreadable: set[str] = set()

    def answer(self) -> None:
        """Raise what a stopped server gives a client: connection refused."""
        if self.down_after_writes is not None and self.writes >= self.down_after_writes:
            self.down = True
        if self.down:
            raise TransientError(f"Could not connect to {self.name}: connection refused")

    def add_collection(
        self, name: str, kind: str = "calendar", components: tuple[str, ...] = ("VEVENT", "VTODO")
    ) -> RemoteCollection:
        url = f"/{self.name}/{name}/"
        self.collections[url] = MemoryCollection(RemoteCollection(url=url, name=name, kind=kind, components=components))
        return self.collections[url].meta

    def collection_of(self, href: str) -> MemoryCollection:
        for url, collection in self.collections.items():
            if href.startswith(url):
                return collection
        raise NotFound(f"no collection for {href}")

    def _touch(self, collection: MemoryCollection, href: str) -> None:
        collection.changes.append((next(self.revision), href))

    def store(self, collection_url: str, href: str, data: bytes) -> str:
        collection = self.collections[collection_url]
        etag = '"' + hashlib.md5(data + str(next(self.revision)).encode()).hexdigest()[:12] + '"'  # noqa: S324
        collection.items[href] = (etag, data)
        self._touch(collection, href)
        return etag

    def remove(self, href: str) -> None:
        collection = self.collection_of(href)
        collection.items.pop(href, None)
        self._touch(collection, href)

    def uids(self, collection_url: str) -> list[str]:
        return sorted(extract_uid(data) for _, data in self.collections[collection_url].items.values())


class MemoryConnector:
    kind: ClassVar[str] = "memory"

    def __init__(self, server: MemoryServer) -> None:
        self.server = server
        self.requests = 0

    def check(self) -> CheckResult:
        return CheckResult(True, f"Connected: {len(self.server.collections)} collections")

    def list_collections(self) -> list[RemoteCollection]:
        self.requests += 1
        self.server.answer()
        return [collection.meta for collection in self.server.collections.values()]

    def list_items(self, collection: RemoteCollection, *, sync_token: str = "") -> Listing:
        self.requests += 1
        self.server.answer()
        stored = self.server.collections[collection.url]
        token = str(stored.changes[-1][0]) if stored.changes else "0"
        if not sync_token:
            return Listing({href: etag for href, (etag, _) in stored.items.items()}, sync_token=token)
        since = int(sync_token)
        changed = {href for revision, href in stored.changes if revision > since}
        return Listing(
            {href: stored.items[href][0] for href in changed if href in stored.items},
            sync_token=token,
            complete=False,
            deleted={href for href in changed if href not in stored.items},
        )

    def fetch(self, collection: RemoteCollection, hrefs: Iterable[str]) -> Iterator[RemoteItem]:
        self.requests += 1
        self.server.answer()
        hrefs = list(hrefs)
        if self.server.unreadable & set(hrefs):
            raise TransientError("Could not read items: the server answered 500", status=500)
        stored = self.server.collections[collection.url]
        for href in hrefs:
            if href in stored.items:
                etag, data = stored.items[href]
                yield RemoteItem(href, etag, data)

    def put(
        self, collection: RemoteCollection, data: bytes, *, href: str = "", etag: str = "", uid: str = ""
    ) -> PutResult:
        self.requests += 1
        server = self.server
        server.answer()
        if server.crash_after is not None and server.writes >= server.crash_after:
            raise Crash("worker killed")
        stored = server.collections[collection.url]
        if (
            not server.mixed_components
            and len(collection.components) == 1
            and component_kinds(data) - set(collection.components)
        ):
            raise ItemRejected("supported-calendar-component violated", status=403, url=collection.url)
        if server.invalid is not None and (reason := server.invalid(data)):
            raise ItemRejected(reason, status=403, url=collection.url, conditions=frozenset({VALID_CALENDAR_DATA}))
        if (uid or extract_uid(data)) in server.refuse_uids:
            raise ItemRejected("the server refused this UID (trashbin)", status=409, url=collection.url)
        if not href:
            href = f"{collection.url}{uid or hashlib.md5(data).hexdigest()}.ics"  # noqa: S324
            if href in stored.items:
                raise PreconditionFailed("exists", status=412, url=href)
        elif href not in stored.items or stored.items[href][0] != etag:
            raise PreconditionFailed("changed on the server", status=412, url=href)
        server.writes += 1
        return PutResult(href, server.store(collection.url, href, data))

    def delete(self, href: str, *, etag: str = "") -> None:
        self.requests += 1
        self.server.answer()
        collection = self.server.collection_of(href)
        if href not in collection.items:
            return
        if etag and collection.items[href][0] != etag:
            raise PreconditionFailed("changed on the server", status=412, url=href)
        self.server.writes += 1
        self.server.remove(href)

    def create_collection(
        self, *, name: str, kind: str, color: str = "", description: str = "", components: tuple[str, ...] = ()
    ) -> RemoteCollection:
        self.requests += 1
        if not self.server.mixed_components and len(components) > 1:
            components = components[:1]
        return self.server.add_collection(name, kind, components)

    def close(self) -> None:
        pass


class MemoryLinkStore:
    """The ``LinkStore`` of one pair, kept in a dict: what the ORM store does, minus the database."""

    def __init__(self) -> None:
        self.records: dict = {}
        self.conflicts: list[dict] = []
        self.ledger: dict = {}  # href → OwedRecord

    def load(self) -> list:
        return list(self.records.values())

    def save(self, records) -> None:
        for record in records:
            self.records[record.source_href] = record

    def atomic(self):
        return contextlib.nullcontext()

    def forget(self, source_hrefs) -> None:
        for href in source_hrefs:
            self.records.pop(href, None)

    def owed(self) -> list:
        return list(self.ledger.values())

    def owe(self, records) -> None:
        for record in records:
            self.ledger[record.href] = record

    def settle(self, hrefs) -> None:
        for href in hrefs:
            self.ledger.pop(href, None)

    def conflict(self, *, action, source, dest, reason) -> None:
        self.conflicts.append({"action": action, "source": source, "dest": dest, "reason": reason})


class RecordingProgress:
    """Counts, logs and an optional stop after N checkpoints (a pause between batches)."""

    def __init__(self, stop_after: int | None = None) -> None:
        self.counters: dict[str, int] = {}
        self.logs: list[tuple[str, str, str]] = []
        self.total = 0
        self.checkpoints = 0
        self.stop_after = stop_after

    def log(self, level: str, message: str, item: str = "") -> None:
        self.logs.append((level, message, item))

    def count(self, **counters: int) -> None:
        for name, value in counters.items():
            self.counters[name] = self.counters.get(name, 0) + value

    def planned(self, total: int) -> None:
        self.total += total

    def checkpoint(self) -> bool:
        self.checkpoints += 1
        return self.stop_after is None or self.checkpoints < self.stop_after
