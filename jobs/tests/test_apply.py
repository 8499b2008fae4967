"""The apply engine on in-memory servers: fidelity, idempotence, crashes, refusals, 412s.

The same behaviour against real Radicale and Xandikos is in test_sync_dav.py; these run in
milliseconds so that they can also be driven through random histories.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calsync.lib.items import extract_uid
from calsync.testing.memory import Crash, MemoryConnector, MemoryLinkStore, MemoryServer, RecordingProgress
from jobs.reconcile.apply import PairSync
from jobs.reconcile.pair import Pair, Stopped
from jobs.reconcile.plan import EmptySideGuard, Mode, Policy


def event(uid: str, summary: str = "Meeting", extra: str = "") -> bytes:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:{uid}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260310T090000Z\r\nSUMMARY:{summary}\r\n{extra}"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    ).encode()


def todo(uid: str) -> bytes:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VTODO\r\n"
        f"UID:{uid}\r\nSTATUS:NEEDS-ACTION\r\nSUMMARY:Do\r\nEND:VTODO\r\nEND:VCALENDAR\r\n"
    ).encode()


class World:
    """A source and a destination server with one collection each, and one job's link state."""

    def __init__(self, mode: Mode = Mode.MIRROR, policy: Policy = Policy.SOURCE_WINS, *, mixed: bool = True) -> None:
        self.source_server = MemoryServer("src")
        self.dest_server = MemoryServer("dst", mixed_components=mixed)
        self.source_cal = self.source_server.add_collection("work")
        components = ("VEVENT", "VTODO") if mixed else ("VEVENT",)
        self.dest_cal = self.dest_server.add_collection("work", components=components)
        self.dest_collections = {"VEVENT": self.dest_cal, "VTODO": self.dest_cal}
        self.store = MemoryLinkStore()
        self.mode, self.policy = mode, policy
        self.tokens: tuple[str, dict[str, str]] = ("", {})

    def add(self, server: MemoryServer, collection, uid: str, data: bytes | None = None) -> str:
        href = f"{collection.url}{uid}.ics"
        server.store(collection.url, href, data or event(uid))
        return href

    def sync(self, progress: RecordingProgress | None = None, *, dry_run: bool = False, confirm_empty: bool = False):
        progress = progress or RecordingProgress()
        source, dest = MemoryConnector(self.source_server), MemoryConnector(self.dest_server)
        pair = Pair(source, dest, self.source_cal, self.dest_collections, self.mode, self.policy)
        result = PairSync(pair, self.store, progress, dry_run=dry_run).run(
            source_token=self.tokens[0], dest_tokens=self.tokens[1], confirm_empty=confirm_empty
        )
        if not dry_run:
            self.tokens = (result.source_token, result.dest_tokens)
        progress.requests = source.requests + dest.requests
        progress.result = result
        return progress


def test_a_migration_copies_every_object_byte_for_byte():
    world = World()
    for n in range(250):
        world.add(world.source_server, world.source_cal, f"ev-{n}", event(f"ev-{n}", extra="X-KEEP;X-P=1:yes\r\n"))
    world.add(world.source_server, world.source_cal, "task-1", todo("task-1"))

    progress = world.sync()

    assert progress.counters["created"] == 251
    copied = {extract_uid(data): data for _, data in world.dest_server.collections[world.dest_cal.url].items.values()}
    originals = {
        extract_uid(data): data for _, data in world.source_server.collections[world.source_cal.url].items.values()
    }
    assert copied == originals


def test_an_unchanged_rerun_writes_nothing_and_fetches_nothing():
    world = World()
    for n in range(120):
        world.add(world.source_server, world.source_cal, f"ev-{n}")
    world.sync()
    writes = world.dest_server.writes

    progress = world.sync()

    assert world.dest_server.writes == writes
    assert progress.requests == 2  # one sync-collection REPORT per side, nothing else
    assert progress.counters == {"unchanged": 120}


def test_a_run_stopped_between_batches_resumes_without_duplicates():
    world = World()
    for n in range(350):
        world.add(world.source_server, world.source_cal, f"ev-{n}")
    with pytest.raises(Stopped):
        world.sync(RecordingProgress(stop_after=2))
    assert 0 < len(world.dest_server.collections[world.dest_cal.url].items) < 350

    world.sync()

    assert world.dest_server.uids(world.dest_cal.url) == sorted(f"ev-{n}" for n in range(350))


def test_a_crash_after_a_write_but_before_its_link_is_saved_loses_and_duplicates_nothing():
    world = World()
    for n in range(150):
        world.add(world.source_server, world.source_cal, f"ev-{n}")
    world.dest_server.crash_after = 130  # mid-batch: 30 written objects have no link yet
    with pytest.raises(Crash):
        world.sync()
    world.dest_server.crash_after = None

    progress = world.sync()

    assert world.dest_server.uids(world.dest_cal.url) == sorted(f"ev-{n}" for n in range(150))
    assert progress.counters["created"] == 20


def test_a_refused_item_is_logged_and_the_run_goes_on():
    world = World()
    for n in range(5):
        world.add(world.source_server, world.source_cal, f"ev-{n}")
    world.dest_server.refuse_uids = {"ev-2"}

    progress = world.sync()

    assert progress.counters["created"] == 4
    assert progress.counters["errors"] == 1
    level, message, item = progress.logs[0]
    assert level == "error"
    assert message.startswith("create-destination refused by the server: the server refused this UID (trashbin)")
    assert item.endswith("ev-2.ics")


def test_tasks_go_to_their_own_collection_when_the_destination_cannot_mix_them():
    world = World(mixed=False)
    tasks = world.dest_server.add_collection("work-tasks", components=("VTODO",))
    world.dest_collections = {"VEVENT": world.dest_cal, "VTODO": tasks}
    world.add(world.source_server, world.source_cal, "ev", event("ev"))
    world.add(world.source_server, world.source_cal, "td", todo("td"))

    world.sync()

    assert world.dest_server.uids(world.dest_cal.url) == ["ev"]
    assert world.dest_server.uids(tasks.url) == ["td"]
    assert world.sync().counters == {"unchanged": 2}


def test_an_edit_on_the_destination_is_re_read_on_412_and_mirror_restores_the_source():
    world = World(Mode.MIRROR)
    href = world.add(world.source_server, world.source_cal, "ev", event("ev", "v1"))
    world.sync()
    world.source_server.store(world.source_cal.url, href, event("ev", "v2"))
    dest_href = next(iter(world.dest_server.collections[world.dest_cal.url].items))
    world.dest_server.store(world.dest_cal.url, dest_href, event("ev", "edited"))
    world.tokens = (world.tokens[0], {})  # the destination's edit happened after our listing

    world.sync()

    assert b"SUMMARY:v2" in world.dest_server.collections[world.dest_cal.url].items[dest_href][1]


def test_two_way_with_manual_policy_records_a_conflict_and_overwrites_nothing():
    world = World(Mode.TWO_WAY, Policy.MANUAL)
    href = world.add(world.source_server, world.source_cal, "ev", event("ev", "v1"))
    world.sync()
    dest_href = next(iter(world.dest_server.collections[world.dest_cal.url].items))
    world.source_server.store(world.source_cal.url, href, event("ev", "source edit"))
    world.dest_server.store(world.dest_cal.url, dest_href, event("ev", "dest edit"))

    progress = world.sync()

    assert progress.counters["conflicts"] == 1
    assert [c["reason"] for c in world.store.conflicts] == ["changed on both sides"]
    assert b"dest edit" in world.dest_server.collections[world.dest_cal.url].items[dest_href][1]
    assert b"source edit" in world.source_server.collections[world.source_cal.url].items[href][1]


def test_volatile_changes_in_the_source_cause_no_write():
    world = World()
    href = world.add(world.source_server, world.source_cal, "ev", event("ev"))
    world.sync()
    writes = world.dest_server.writes
    world.source_server.store(world.source_cal.url, href, event("ev").replace(b"DTSTAMP:20260101", b"DTSTAMP:20261121"))

    progress = world.sync()

    assert world.dest_server.writes == writes
    assert progress.counters == {"unchanged": 1, "done": 1}


def test_a_source_that_suddenly_lists_nothing_needs_a_confirmation():
    world = World(Mode.MIRROR)
    for n in range(3):
        world.add(world.source_server, world.source_cal, f"ev-{n}")
    world.sync()
    world.tokens = ("", {})
    world.source_server.collections[world.source_cal.url].items.clear()

    with pytest.raises(EmptySideGuard):
        world.sync()
    assert len(world.dest_server.collections[world.dest_cal.url].items) == 3
    world.sync(confirm_empty=True)
    assert world.dest_server.collections[world.dest_cal.url].items == {}


def test_a_dry_run_plans_but_writes_nothing():
    world = World()
    world.add(world.source_server, world.source_cal, "ev")

    progress = world.sync(dry_run=True)

    assert [a.op.value for a in progress.result.actions] == ["create-destination"]
    assert world.dest_server.writes == 0
    assert world.store.records == {}


edits = st.lists(
    st.tuples(st.sampled_from(["source", "dest"]), st.sampled_from(["add", "change", "delete"]), st.integers(0, 9)),
    max_size=8,
)


@settings(max_examples=60, deadline=None)
@given(mode=st.sampled_from(list(Mode)), rounds=st.lists(edits, min_size=1, max_size=4))
def test_random_histories_converge_and_a_second_sync_writes_nothing(mode, rounds):
    world = World(mode, Policy.SOURCE_WINS)
    counter = 0
    for round_of_edits in rounds:
        for side, kind, n in round_of_edits:
            server, collection = (
                (world.source_server, world.source_cal) if side == "source" else (world.dest_server, world.dest_cal)
            )
            items = sorted(server.collections[collection.url].items)
            counter += 1
            if kind == "add" or not items:
                world.add(server, collection, f"{side}-{counter}")
            elif kind == "change":
                href = items[n % len(items)]
                uid = extract_uid(server.collections[collection.url].items[href][1])
                server.store(collection.url, href, event(uid, f"edit {counter}"))
            else:
                server.remove(items[n % len(items)])
        world.sync(confirm_empty=True)
        writes = (world.source_server.writes, world.dest_server.writes)
        world.sync(confirm_empty=True)
        assert (world.source_server.writes, world.dest_server.writes) == writes
        source_uids = set(world.source_server.uids(world.source_cal.url))
        dest_uids = set(world.dest_server.uids(world.dest_cal.url))
        assert source_uids <= dest_uids
        if mode == Mode.TWO_WAY:
            assert source_uids == dest_uids


def test_two_source_objects_with_one_uid_are_copied_once_and_the_duplicate_is_reported():
    world = World()
    world.source_server.store(world.source_cal.url, f"{world.source_cal.url}a.ics", event("same", "first"))
    world.source_server.store(world.source_cal.url, f"{world.source_cal.url}b.ics", event("same", "second"))

    progress = world.sync()

    assert progress.counters["created"] == 1 and progress.counters["errors"] == 1
    assert "duplicate UID 'same'" in progress.logs[0][1]
    writes = world.dest_server.writes
    assert world.sync().counters.get("updated", 0) == 0
    assert world.dest_server.writes == writes


def test_an_object_created_on_the_destination_between_plan_and_apply_is_not_overwritten():
    world = World(mode=Mode.COPY)
    world.add(world.source_server, world.source_cal, "ev-1", event("ev-1", "From the source"))
    source, dest = MemoryConnector(world.source_server), MemoryConnector(world.dest_server)
    pair = Pair(source, dest, world.source_cal, world.dest_collections, world.mode, world.policy)
    progress = RecordingProgress()
    sync = PairSync(pair, world.store, progress)
    sync.prepare()
    theirs = event("ev-1", "Made there meanwhile")
    world.dest_server.store(world.dest_cal.url, f"{world.dest_cal.url}ev-1.ics", theirs)

    sync.execute()

    [(_, stored)] = world.dest_server.collections[world.dest_cal.url].items.values()
    assert stored == theirs
    assert progress.counters["conflicts"] == 1 and "created" not in progress.counters
    [conflict] = world.store.conflicts
    assert conflict["reason"] == "appeared on the destination while this run was writing"
