"""Carry out a plan for one collection pair, batch by batch, remembering each item as it lands.

``PairSync.prepare`` lists both sides and plans; ``execute`` fetches only the items the plan
names, writes them, and records an ``ItemLink`` per finished item through a ``LinkStore``. A
runner prepares every pair of a job first, so the run's total is known before it writes. Between
batches it asks the ``Progress`` whether to stop (pause, cancel), so a stop or a crash loses at
most the batch in flight, and the next run re-plans from the links without duplicating anything.

An item that fails (write or read) is recorded as owed in the ledger and planned again by every
later run: with anything owed the pair is listed in full, and its sync tokens stay where they
were. Several items in a row failing because their server is away end the pair at once
(``ServerDown``), with everything it had not applied recorded as owed.
"""

from __future__ import annotations

from accounts.connectors.base import ConnectorError, Listing, RemoteItem, TransientError
from calsync.lib.items import component_kinds, content_hash, extract_uid, strip_method
from jobs.reconcile.ledger import OutageDetector, PairLedger, item_key, summary_of
from jobs.reconcile.ops import ItemOps, path_of
from jobs.reconcile.pair import LinkRecord, LinkStore, Pair, PairResult, Progress, ServerDown, Stopped
from jobs.reconcile.plan import (
    Action,
    EmptySideGuard,
    Fingerprint,
    Mode,
    Op,
    SideListing,
    dest_only_actions,
    pair_unlinked,
    plan_actions,
)

BATCH = 100


def _as_delta(listing: Listing, known: set[str]) -> SideListing:
    """Express a listing as a delta over ``known`` hrefs so several collections can be merged."""
    if listing.complete:
        return SideListing(dict(listing.items), complete=False, deleted=known - set(listing.items))
    return SideListing(dict(listing.items), complete=False, deleted=set(listing.deleted))


class PairSync(ItemOps):
    def __init__(
        self,
        pair: Pair,
        store: LinkStore,
        progress: Progress,
        *,
        dry_run: bool = False,
        loaded: list[LinkRecord] | None = None,
        max_attempts: int = 3,
        outage: OutageDetector | None = None,
        strict: bool = False,
    ) -> None:
        self.pair = pair
        # Strict: a refused object is reported as refused, never repaired to land.
        self.strict = strict
        self.store = store
        self.progress = progress
        # A progress that wants to stop sooner (a bulk migration's turn of N items) asks for
        # smaller batches, so its checkpoints come when it needs them.
        self.batch = max(1, min(BATCH, getattr(progress, "batch_size", BATCH)))
        self.dry_run = dry_run
        # The links as the run found them (a caller that already read them passes them in);
        # ``records`` follows the run and ends as the links it leaves behind.
        self.loaded = store.load() if loaded is None else loaded
        self.records: dict[str, LinkRecord] = {record.source_href: record for record in self.loaded}
        self.by_dest: dict[str, LinkRecord] = {record.dest_href: record for record in self.records.values()}
        self.pending: list[LinkRecord] = []
        self.forgotten: list[str] = []
        self.ledger = PairLedger(store, max_attempts=max_attempts)
        # One detector per run, shared by its pairs: an outage does not start over per collection.
        self.outage = outage or OutageDetector()
        # Planned and not yet applied, by item key: what an outage leaves owed.
        self.outstanding: dict[str, Action] = {}
        self.unreadable: dict[str, ConnectorError] = {}
        self.result = PairResult()
        self._plan_actions: list[Action] = []
        self._new_in_source: dict[str, str] = {}
        self._unlinked_dest: dict[str, Fingerprint] = {}
        self.finished = False

    @property
    def owes(self) -> bool:
        """This pair left something owed: its sync tokens must not move past it."""
        return self.ledger.owes or bool(self.outstanding) or not self.finished

    # --- listing and planning ------------------------------------------------------------------

    def run(
        self, *, source_token: str = "", dest_tokens: dict[str, str] | None = None, confirm_empty: bool = False
    ) -> PairResult:
        self.prepare(source_token=source_token, dest_tokens=dest_tokens, confirm_empty=confirm_empty)
        return self.execute()

    def prepare(
        self, *, source_token: str = "", dest_tokens: dict[str, str] | None = None, confirm_empty: bool = False
    ) -> PairResult:
        """List both sides and plan; tell the progress how many steps the plan has."""
        pair = self.pair
        dest_tokens = dest_tokens or {}
        # Without links, a token would hide what is already there; with owed items, it would
        # hide them (they changed before the token): list fully then.
        use_tokens = bool(self.records) and not self.ledger.owes_from_before
        source_listing = pair.source.list_items(pair.source_collection, sync_token=source_token if use_tokens else "")
        dest_listings = {
            url: pair.dest.list_items(collection, sync_token=dest_tokens.get(url, "") if use_tokens else "")
            for url, collection in {c.url: c for c in pair.dest_collections.values()}.items()
        }
        result = self.result
        result.source_token = source_listing.sync_token
        result.dest_tokens = {url: listing.sync_token for url, listing in dest_listings.items()}
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
        planned = {action.source_href for action in plan.actions}
        # Links this same run wrote before a pause or a crash were counted when they were made.
        self.progress.count(
            unchanged=sum(1 for r in self.records.values() if r.source_href not in planned and not r.this_run)
        )
        self._plan_actions = self._without_attention_items(plan.actions)
        creates = [Action(Op.CREATE_DEST, source_href=h, source_etag=e) for h, e in plan.new_in_source.items()]
        self._new_in_source = {a.source_href: a.source_etag for a in self._without_attention_items(creates)}
        self._unlinked_dest = self._fingerprints_of_unlinked_dest(plan.unlinked_dest, bool(self._new_in_source))
        if pair.mode == Mode.TWO_WAY:
            waiting = {a.dest_href for a in self._without_attention_items(dest_only_actions(self._unlinked_dest))}
            self._unlinked_dest = {h: fp for h, fp in self._unlinked_dest.items() if h in waiting}
        for action in self._plan_actions:
            self.outstanding[item_key(action)] = action
        for href, etag in self._new_in_source.items():
            self.outstanding[href] = Action(Op.CREATE_DEST, source_href=href, source_etag=etag, reason="new in source")
        if pair.mode == Mode.TWO_WAY:
            for action in dest_only_actions(self._unlinked_dest):
                self.outstanding[item_key(action)] = action
        self.progress.planned(len(self.outstanding))
        return result

    def _without_attention_items(self, actions: list[Action]) -> list[Action]:
        kept = []
        for action in actions:
            if self.ledger.waits_for_attention(action):
                self.progress.log("warning", "not retried: it needs attention (see the owed items)", item_key(action))
            else:
                kept.append(action)
        return kept

    def _fingerprints_of_unlinked_dest(self, unlinked: dict[str, str], have_new: bool) -> dict[str, Fingerprint]:
        # Fetching the destination's unlinked items costs a multiget; it is only worth it when
        # something could pair with them.
        if not unlinked or not (have_new or self.pair.mode == Mode.TWO_WAY):
            return {}
        fingerprints = {}
        for item in self._fetch_dest(list(unlinked)).values():
            fingerprints[item.href] = Fingerprint(extract_uid(item.data), content_hash(item.data), item.etag)
        return fingerprints

    # --- executing -----------------------------------------------------------------------------

    def execute(self) -> PairResult:
        """Apply the plan ``prepare`` made. An outage records what is left as owed and re-raises."""
        result = self.result
        try:
            self._apply(self._plan_actions, result)
            unlinked_dest = dict(self._unlinked_dest)
            self._apply_new(self._new_in_source, unlinked_dest, result)
            if self.pair.mode == Mode.TWO_WAY:
                self._apply(dest_only_actions(unlinked_dest), result)
        except ServerDown as exc:
            self.abandon(str(exc))
            raise
        if not self.dry_run:
            # Items that vanished between listing and reading were not written and owe nothing.
            self.outstanding.clear()
            self.finished = True
            self.ledger.finish()
        self._flush()
        return result

    def abandon(self, reason: str) -> None:
        """Record everything planned and not applied as owed (the run stops before reaching it)."""
        if self.dry_run:
            return
        for action in self.outstanding.values():
            self.ledger.fail(action, None, reason=f"not tried: {reason}", attempted=False)
        self.outstanding.clear()
        self._flush()

    # --- fetching ------------------------------------------------------------------------------

    def _fetch_source(self, hrefs: list[str]) -> dict[str, RemoteItem]:
        if not hrefs:
            return {}
        return {item.href: item for item in self.pair.source.fetch(self.pair.source_collection, hrefs)}

    def _fetch_dest(self, hrefs: list[str]) -> dict[str, RemoteItem]:
        found: dict[str, RemoteItem] = {}
        for collection in {c.url: c for c in self.pair.dest_collections.values()}.values():
            wanted = [href for href in hrefs if href.startswith(path_of(collection.url)) and href not in found]
            if wanted:
                found.update({item.href: item for item in self.pair.dest.fetch(collection, wanted)})
        return found

    def _read(self, fetch, hrefs: list[str]) -> dict[str, RemoteItem]:
        """Read a batch; when the batch fails, read its items one by one, so one item the server
        cannot serve does not hold back the others (and is remembered as unreadable)."""
        if not hrefs:
            return {}
        try:
            found = fetch(hrefs)
        except TransientError:
            found = {}
            for href in hrefs:
                try:
                    found.update(fetch([href]))
                except TransientError as exc:
                    self.unreadable[href] = exc
                    self.outage.failed(exc)
                else:
                    self.outage.succeeded()
        return found

    # --- applying ------------------------------------------------------------------------------

    def _apply_new(
        self, new_in_source: dict[str, str], unlinked_dest: dict[str, Fingerprint], result: PairResult
    ) -> None:
        remaining = dict(unlinked_dest)
        hrefs = list(new_in_source)
        for start in range(0, len(hrefs), self.batch):
            batch = hrefs[start : start + self.batch]
            items = self._read(self._fetch_source, batch)
            fingerprints = {
                href: Fingerprint(extract_uid(item.data), content_hash(item.data), item.etag)
                for href, item in items.items()
            }
            actions = pair_unlinked(fingerprints, remaining, mode=self.pair.mode, dest_only=False)
            for action in actions:
                remaining.pop(action.dest_href, None)
            unread = [
                Action(Op.CREATE_DEST, source_href=href, source_etag=new_in_source[href], reason="new in source")
                for href in batch
                if href in self.unreadable
            ]
            self._apply([*unread, *actions], result, source_items=items)
        unlinked_dest.clear()
        unlinked_dest.update(remaining)

    def _apply(
        self, actions: list[Action], result: PairResult, *, source_items: dict[str, RemoteItem] | None = None
    ) -> None:
        result.actions.extend(actions)
        if self.dry_run:
            return
        for start in range(0, len(actions), self.batch):
            batch = actions[start : start + self.batch]
            src = dict(source_items or {})
            src.update(
                self._read(
                    self._fetch_source,
                    [
                        a.source_href
                        for a in batch
                        if _needs_source(a) and a.source_href not in src and a.source_href not in self.unreadable
                    ],
                )
            )
            dst = self._read(self._fetch_dest, [a.dest_href for a in batch if _needs_dest(a)])
            _warm([*src.values(), *dst.values()], calendar=self.pair.is_calendar)
            for action in batch:
                self._apply_one(action, src.get(action.source_href), dst.get(action.dest_href))
            # The batch's links, ledger entries and the run's counters land together: a worker
            # killed in between leaves neither links without their counts nor counts without links.
            with self.store.atomic():
                self._flush()
                go_on = self.progress.checkpoint()
            if not go_on:
                raise Stopped()

    def _apply_one(self, action: Action, source: RemoteItem | None, dest: RemoteItem | None) -> None:
        key = item_key(action)
        self.outstanding.pop(key, None)
        self.progress.count(done=1)
        unread = self._unread(action)
        if unread is not None:
            return self._failed(action, unread, f"could not be read: {unread}", source or dest)
        try:
            handler = getattr(self, f"_op_{action.op.name.lower()}")
            handler(action, source, dest)
        except ConnectorError as exc:
            if exc.permanent:  # the account is unusable (credentials, configuration): the run stops
                raise
            verb = "refused by the server" if not isinstance(exc, TransientError) else "failed"
            return self._failed(action, exc, f"{action.op.value} {verb}: {exc}", source or dest)
        self.outage.succeeded()
        self.ledger.land(action)

    def _unread(self, action: Action) -> ConnectorError | None:
        if _needs_source(action) and action.source_href in self.unreadable:
            return self.unreadable[action.source_href]
        if _needs_dest(action) and action.dest_href in self.unreadable:
            return self.unreadable[action.dest_href]
        return None

    def _failed(self, action: Action, exc: ConnectorError, reason: str, item: RemoteItem | None) -> None:
        data = item.data if item is not None else None
        linked = self.records.get(action.source_href)
        record = self.ledger.fail(
            action,
            exc,
            reason=reason,
            uid=extract_uid(data) if data else (linked.uid if linked else ""),
            summary=summary_of(data),
        )
        self.progress.count(errors=1)
        what = "needs attention" if record.state != "owed" else "owed, will be retried"
        self.progress.log("error", f"{reason} ({what}, attempt {record.attempts})", item_key(action))
        # Last: an outage raises ServerDown, and this item is already in the ledger by then.
        self.outage.failed(exc)

    def _flush(self) -> None:
        super()._flush()
        self.ledger.flush()


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
