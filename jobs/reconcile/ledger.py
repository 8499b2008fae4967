"""The owed items of one collection pair while a run works on it, and the outage detector.

Pure bookkeeping over the ``LinkStore`` port: what the ledger held when the run began, what
failed now (with how many attempts), what landed. Writes are buffered and flushed with the links,
so the ledger and the links always describe the same moment.
"""

from __future__ import annotations

from accounts.connectors.base import ConnectorError, TransientError
from calsync.lib.items import unfolded_lines
from jobs.reconcile.pair import NEEDS_ATTENTION, OWED, LinkStore, OwedRecord, ServerDown
from jobs.reconcile.plan import WRITES_SOURCE, Action, Op

# HTTP answers that mean "nobody is home" rather than "this item is bad": a reverse proxy whose
# backend is gone answers them for every request.
OUTAGE_STATUSES = frozenset({502, 503, 504})
SUMMARY_PROPERTIES = ("SUMMARY", "FN")


def item_key(action: Action) -> str:
    """Owed items are known by their source href; an item only the destination has, by its own."""
    return action.source_href or action.dest_href


def item_version(action: Action) -> str:
    """The etag of the side the action reads: a new version of a refused item is tried again."""
    reads_dest = action.op in WRITES_SOURCE and action.op != Op.DELETE_SOURCE
    return action.dest_etag if reads_dest else action.source_etag


def summary_of(data: bytes | None) -> str:
    if not data:
        return ""
    for line in unfolded_lines(data):
        name = line.split(":", 1)[0].split(";", 1)[0].upper()
        if name in SUMMARY_PROPERTIES and ":" in line:
            return line.split(":", 1)[1].strip()[:300]
    return ""


def is_outage(exc: ConnectorError) -> bool:
    """A failure that says the server is away (connection refused, reset, timeout, 502-504)."""
    return isinstance(exc, TransientError) and (exc.status is None or exc.status in OUTAGE_STATUSES)


class OutageDetector:
    """Counts items in a row that failed because their server was away, after the HTTP seam's
    own retries; at ``limit`` the server is taken for down, so the run stops paying the whole
    retry budget for every remaining item."""

    def __init__(self, limit: int = 3) -> None:
        self.limit = max(1, limit)
        self.streak = 0

    def failed(self, exc: ConnectorError) -> None:
        if not is_outage(exc):
            self.streak = 0
            return
        self.streak += 1
        if self.streak >= self.limit:
            raise ServerDown(f"the server stopped answering ({self.streak} items in a row failed; last: {exc})")

    def succeeded(self) -> None:
        self.streak = 0


class PairLedger:
    def __init__(self, store: LinkStore, *, max_attempts: int = 3) -> None:
        self.store = store
        self.max_attempts = max(1, max_attempts)
        self.before: dict[str, OwedRecord] = {record.href: record for record in store.owed()}
        self.failed: dict[str, OwedRecord] = {}
        self.landed: set[str] = set()
        self._to_owe: list[OwedRecord] = []
        self._to_settle: set[str] = set()

    @property
    def owes_from_before(self) -> bool:
        """Items earlier runs left owed: this run lists in full, so a delta cannot hide them."""
        return any(record.state == OWED for record in self.before.values())

    @property
    def owes(self) -> bool:
        """Something this run did not apply and will try again: the sync tokens must not move."""
        return any(record.state == OWED for record in self.failed.values())

    def waits_for_attention(self, action: Action) -> bool:
        record = self.before.get(item_key(action))
        if record is None or record.state != NEEDS_ATTENTION:
            return False
        version = item_version(action)
        return not version or not record.etag or version == record.etag

    def fail(
        self,
        action: Action,
        exc: ConnectorError | None,
        *,
        reason: str,
        uid: str = "",
        summary: str = "",
        attempted: bool = True,
    ) -> OwedRecord:
        key = item_key(action)
        earlier = self.failed.get(key) or self.before.get(key)
        refused = exc is not None and not isinstance(exc, TransientError)
        attempts = (earlier.attempts if earlier else 0) + (1 if attempted else 0)
        state = NEEDS_ATTENTION if refused and attempts >= self.max_attempts else OWED
        record = OwedRecord(
            href=key,
            operation=action.op.value,
            reason=reason[:2000],
            dest_href=action.dest_href,
            uid=uid or (earlier.uid if earlier else ""),
            summary=summary or (earlier.summary if earlier else ""),
            status=exc.status if exc is not None else None,
            etag=item_version(action),
            refused=refused,
            attempts=attempts,
            state=state,
        )
        self.failed[key] = record
        self.landed.discard(key)
        self._to_owe.append(record)
        self._to_settle.discard(key)
        return record

    def land(self, action: Action) -> None:
        key = item_key(action)
        if key in self.failed:
            return  # an earlier step of the same item failed in this run
        self.landed.add(key)
        if key in self.before:
            self._to_settle.add(key)

    def finish(self) -> None:
        """The pair was processed completely: debts nothing planned any more resolved themselves
        (the item vanished from the source, or someone made both sides equal)."""
        for key, record in self.before.items():
            if key not in self.failed and record.state == OWED:
                self._to_settle.add(key)

    def flush(self) -> None:
        if self._to_owe:
            self.store.owe(self._to_owe)
            self._to_owe = []
        if self._to_settle:
            self.store.settle(sorted(self._to_settle))
            self._to_settle = set()
