"""The ledger of owed items on in-memory servers: nothing a run could not apply is ever lost.

Outages and refusals are provoked on purpose here (a server that stops answering after N writes,
items that cannot be read, UIDs the server refuses); the same against real servers that are
stopped and started again is in test_outages.py.
"""

from __future__ import annotations

import pytest

from calsync.testing.memory import MemoryConnector, RecordingProgress
from jobs.reconcile.apply import PairSync
from jobs.reconcile.ledger import OutageDetector
from jobs.reconcile.pair import NEEDS_ATTENTION, OWED, Pair, ServerDown
from jobs.reconcile.plan import Mode
from jobs.tests.test_apply import World, event


class LedgerWorld(World):
    """Keeps sync tokens the way the runner does: only for a pair that owes nothing."""

    def sync(self, progress: RecordingProgress | None = None, **options):
        progress = progress or RecordingProgress()
        source, dest = MemoryConnector(self.source_server), MemoryConnector(self.dest_server)
        pair = Pair(source, dest, self.source_cal, self.dest_collections, self.mode, self.policy)
        sync = PairSync(pair, self.store, progress, max_attempts=3, outage=OutageDetector(3))
        progress.down = None
        try:
            result = sync.run(source_token=self.tokens[0], dest_tokens=self.tokens[1])
        except ServerDown as exc:
            progress.down = exc
        else:
            if not sync.owes:
                self.tokens = (result.source_token, result.dest_tokens)
        progress.dest_requests = dest.requests
        return progress

    def owed(self, state: str = OWED) -> list[str]:
        return sorted(r.href for r in self.store.ledger.values() if r.state == state)


def _fill(world: World, count: int) -> list[str]:
    return [world.add(world.source_server, world.source_cal, f"ev-{n:03d}") for n in range(count)]


@pytest.mark.parametrize("mode", [Mode.COPY, Mode.MIRROR, Mode.TWO_WAY])
def test_items_a_vanished_destination_did_not_take_are_owed_and_land_later_though_no_delta_names_them(mode):
    world = LedgerWorld(mode)
    _fill(world, 5)
    world.sync()  # linked, tokens saved
    hrefs = [world.add(world.source_server, world.source_cal, f"new-{n}") for n in range(10)]
    world.dest_server.down_after_writes = world.dest_server.writes + 4

    first = world.sync()

    assert first.down is not None
    assert len(world.owed()) == 6 and set(world.owed()) < set(hrefs)
    assert len(world.dest_server.collections[world.dest_cal.url].items) == 9

    world.dest_server.down, world.dest_server.down_after_writes = False, None
    second = world.sync()

    assert second.down is None
    assert world.owed() == []
    assert world.dest_server.uids(world.dest_cal.url) == world.source_server.uids(world.source_cal.url)
    assert second.counters["created"] == 6
    assert world.sync().counters.get("created", 0) == 0  # and the tokens moved on once all landed


def test_a_server_that_goes_away_costs_a_few_items_not_the_retry_budget_of_every_item():
    world = LedgerWorld(Mode.COPY)
    hrefs = _fill(world, 300)
    world.dest_server.down_after_writes = 10

    progress = world.sync()

    assert isinstance(progress.down, ServerDown)
    assert len(world.owed()) == 290 == len(hrefs) - 10
    # 10 writes, then 3 refused connections; everything after them is owed without being tried.
    assert progress.counters["errors"] == 3
    tried = [r for r in world.store.ledger.values() if r.attempts]
    assert len(tried) == 3 and all("connection refused" in r.reason for r in tried)


def test_an_item_the_source_cannot_serve_is_owed_while_the_others_land():
    world = LedgerWorld(Mode.MIRROR)
    hrefs = _fill(world, 6)
    world.source_server.unreadable = {hrefs[2]}

    progress = world.sync()

    assert progress.down is None
    assert world.owed() == [hrefs[2]]
    record = world.store.ledger[hrefs[2]]
    assert record.operation == "create-destination" and "could not be read" in record.reason
    assert len(world.dest_server.collections[world.dest_cal.url].items) == 5

    world.source_server.unreadable = set()
    world.sync()
    assert world.owed() == []
    assert world.dest_server.uids(world.dest_cal.url) == world.source_server.uids(world.source_cal.url)


def test_an_item_refused_again_and_again_needs_attention_and_is_retried_only_in_a_new_version():
    world = LedgerWorld(Mode.COPY)
    hrefs = _fill(world, 3)
    world.dest_server.refuse_uids = {"ev-001"}

    for _ in range(3):
        world.sync()
    assert world.owed(NEEDS_ATTENTION) == [hrefs[1]]
    record = world.store.ledger[hrefs[1]]
    assert record.attempts == 3 and record.status == 409 and "trashbin" in record.reason

    world.tokens = ("", {})  # even a full listing, which names it, does not try it again
    quiet = world.sync()
    assert world.store.ledger[hrefs[1]].attempts == 3
    assert ("warning", "not retried: it needs attention (see the owed items)", hrefs[1]) in quiet.logs

    world.dest_server.refuse_uids = set()
    world.source_server.store(world.source_cal.url, hrefs[1], event("ev-001", "Fixed"))
    world.sync()
    assert world.store.ledger == {}
    assert "ev-001" in world.dest_server.uids(world.dest_cal.url)


def test_an_owed_item_that_vanished_from_the_source_is_settled_not_retried_forever():
    world = LedgerWorld(Mode.COPY)
    hrefs = _fill(world, 2)
    world.source_server.unreadable = {hrefs[0]}
    world.sync()
    assert world.owed() == [hrefs[0]]

    world.source_server.unreadable = set()
    world.source_server.remove(hrefs[0])
    world.sync()

    assert world.store.ledger == {}


def test_items_a_live_server_answers_500_for_are_owed_one_by_one_not_taken_for_an_outage():
    world = LedgerWorld(Mode.COPY)
    hrefs = _fill(world, 10)
    world.source_server.unreadable = set(hrefs[2:7])  # five in a row

    progress = world.sync()

    assert progress.down is None
    assert world.owed() == sorted(hrefs[2:7])
    assert len(world.dest_server.collections[world.dest_cal.url].items) == 5
