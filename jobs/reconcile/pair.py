"""What applying a plan works on and reports to: a collection pair, its links, and the ports.

``LinkStore`` and ``Progress`` are the engine's two ports: ``jobs/stores.py`` and
``jobs/progress.py`` implement them on the ORM (the ICS import uses the same),
``calsync/testing/memory.py`` in memory for the tests. The link store also keeps the ledger of
owed items (``OwedRecord``): what failed and must be tried again.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Protocol

from accounts.connectors.base import ItemStore, RemoteCollection, RemoteItem
from calsync.lib.items import component_kinds
from jobs.reconcile.plan import Action, Link, Mode, Policy


@dataclass(slots=True)
class LinkRecord:
    source_href: str
    dest_href: str
    dest_collection: str
    uid: str = ""
    source_etag: str = ""
    source_hash: str = ""
    dest_etag: str = ""
    dest_hash: str = ""
    this_run: bool = False  # written by the run now going (before a pause or a crash)

    def as_link(self) -> Link:
        return Link(self.source_href, self.source_etag, self.dest_href, self.dest_etag)


OWED = "owed"
NEEDS_ATTENTION = "needs_attention"


@dataclass(slots=True)
class OwedRecord:
    """An item a run did not apply. ``href`` is the source href, or the destination href of an
    item that exists only there; ``etag`` is the version that failed (a new version is retried
    even when the old one needs attention)."""

    href: str
    operation: str
    reason: str
    dest_href: str = ""
    uid: str = ""
    summary: str = ""
    status: int | None = None
    etag: str = ""
    refused: bool = False  # the server answered and said no (not a timeout or an outage)
    attempts: int = 1
    state: str = OWED


class LinkStore(Protocol):
    def load(self) -> list[LinkRecord]: ...

    def save(self, records: Iterable[LinkRecord]) -> None: ...

    def forget(self, source_hrefs: Iterable[str]) -> None: ...

    def atomic(self) -> AbstractContextManager[object]:
        """What one batch records (links, ledger, the run's counters) lands together or not at all."""
        ...

    def owed(self) -> list[OwedRecord]:
        """The ledger of this pair: items earlier runs did not apply."""
        ...

    def owe(self, records: Iterable[OwedRecord]) -> None:
        """Record (or update, keyed by ``href``) items that were not applied."""
        ...

    def settle(self, hrefs: Iterable[str]) -> None:
        """Items that landed: drop them from the ledger."""
        ...

    def conflict(self, *, action: Action, source: RemoteItem | None, dest: RemoteItem | None, reason: str) -> None: ...


class Progress(Protocol):
    def log(self, level: str, message: str, item: str = "") -> None: ...

    def count(self, **counters: int) -> None: ...

    def planned(self, total: int) -> None: ...

    def checkpoint(self) -> bool:
        """Persist what is pending; False means stop at this clean point (pause or cancel)."""
        ...


class Stopped(Exception):
    """The run was asked to stop between two batches."""


class ServerDown(Exception):
    """Several items in a row failed for a transient reason after the HTTP retries: the server is
    gone for now. The run stops writing, and what it did not apply is owed."""


@dataclass(slots=True)
class Pair:
    """One source collection and where its items go (tasks may go to a collection of their own)."""

    source: ItemStore
    dest: ItemStore
    source_collection: RemoteCollection
    dest_collections: dict[str, RemoteCollection]  # component ("VEVENT", "VTODO", "VCARD"…) → collection
    mode: Mode
    policy: Policy = Policy.SOURCE_WINS
    components: frozenset[str] = frozenset({"VEVENT", "VTODO", "VJOURNAL", "VCARD"})
    is_calendar: bool = True

    def dest_for(self, data: bytes) -> RemoteCollection | None:
        for component in sorted(component_kinds(data)):
            if component in self.dest_collections:
                return self.dest_collections[component]
        return None

    @property
    def dest_urls(self) -> list[str]:
        return sorted({collection.url for collection in self.dest_collections.values()})


@dataclass(slots=True)
class PairResult:
    source_token: str = ""
    dest_tokens: dict[str, str] = field(default_factory=dict)
    actions: list[Action] = field(default_factory=list)  # what was planned (the dry-run output)
    repaired: dict[str, tuple[str, ...]] = field(default_factory=dict)  # item → repairs that let it land
