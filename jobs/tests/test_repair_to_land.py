"""Repair to land, in the engine: after a refusal about the data, a repaired copy is written and
reported; a strict job reports the refusal instead; a refusal about anything else is left alone.

In memory, with a destination that validates like Cyrus; the same against Cyrus itself is in
jobs/tests/test_repair_real_servers.py.
"""

from __future__ import annotations

from calsync.lib.items import extract_uid
from calsync.testing.memory import MemoryConnector, MemoryLinkStore, MemoryServer, RecordingProgress
from jobs.reconcile.apply import PairSync
from jobs.reconcile.pair import Pair, PairResult
from jobs.reconcile.plan import Mode


def event(uid: str, extra: str = "") -> bytes:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:{uid}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260310T090000Z\r\nDTEND:20260310T100000Z\r\n"
        f"{extra}SUMMARY:Meeting\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    ).encode()


def like_cyrus(data: bytes) -> str:
    return "No value for CATEGORIES property" if b"\r\nCATEGORIES:\r\n" in data else ""


class World:
    def __init__(self, *, mode: Mode = Mode.MIRROR, strict: bool = False) -> None:
        self.source = MemoryServer("src")
        self.dest = MemoryServer("dst")
        self.dest.invalid = like_cyrus
        self.source_cal = self.source.add_collection("work")
        self.dest_cal = self.dest.add_collection("work")
        self.store = MemoryLinkStore()
        self.mode, self.strict = mode, strict

    def add(self, uid: str, extra: str = "") -> str:
        href = f"{self.source_cal.url}{uid}.ics"
        self.source.store(self.source_cal.url, href, event(uid, extra))
        return href

    def sync(self) -> tuple[RecordingProgress, PairResult]:
        progress = RecordingProgress()
        source, dest = MemoryConnector(self.source), MemoryConnector(self.dest)
        pair = Pair(source, dest, self.source_cal, {"VEVENT": self.dest_cal}, self.mode)
        return progress, PairSync(pair, self.store, progress, strict=self.strict).run()

    def stored(self) -> dict[str, bytes]:
        return {extract_uid(data): data for _, data in self.dest.collections[self.dest_cal.url].items.values()}


def test_a_refused_object_is_repaired_written_and_reported():
    world = World()
    href = world.add("empty-categories", "CATEGORIES:\r\nX-KEPT:yes\r\n")
    world.add("fine")

    progress, result = world.sync()

    stored = world.stored()
    assert progress.counters["created"] == 2 and "errors" not in progress.counters
    assert b"CATEGORIES" not in stored["empty-categories"] and b"X-KEPT:yes" in stored["empty-categories"]
    assert stored["fine"] == event("fine")
    assert result.repaired == {href: ("removed empty CATEGORIES",)}
    assert ("info", "repaired to land (the server refused the original): removed empty CATEGORIES", href) in (
        progress.logs
    )


def test_a_rerun_after_a_repair_writes_nothing():
    world = World()
    world.add("empty-categories", "CATEGORIES:\r\n")
    world.sync()

    again, again_result = world.sync()

    assert again.counters.get("created", 0) == again.counters.get("updated", 0) == 0
    assert again_result.repaired == {}


def test_an_edit_of_a_repaired_object_is_repaired_again():
    world = World()
    href = world.add("empty-categories", "CATEGORIES:\r\n")
    world.sync()
    world.source.store(world.source_cal.url, href, event("empty-categories", "CATEGORIES:\r\nLOCATION:Room 2\r\n"))

    progress, result = world.sync()

    assert progress.counters["updated"] == 1 and result.repaired == {href: ("removed empty CATEGORIES",)}
    assert b"LOCATION:Room 2" in world.stored()["empty-categories"]


def test_a_strict_job_reports_the_refusal_and_the_repair_it_could_have_made():
    world = World(strict=True)
    href = world.add("empty-categories", "CATEGORIES:\r\n")

    progress, _ = world.sync()

    assert progress.counters["errors"] == 1 and world.stored() == {}
    [owed] = world.store.owed()
    assert owed.href == href and owed.refused
    assert "No value for CATEGORIES property" in owed.reason
    assert "could land a repaired copy (removed empty CATEGORIES), but the job is strict" in owed.reason


def test_a_refusal_that_is_not_about_the_data_is_not_repaired():
    world = World()
    world.dest.refuse_uids = {"trashed"}
    world.add("trashed", "CATEGORIES:\r\n")

    progress, result = world.sync()

    assert progress.counters["errors"] == 1 and result.repaired == {}
    assert "trashbin" in world.store.owed()[0].reason


def test_an_object_nothing_can_repair_stays_refused_with_the_server_s_reason():
    world = World()
    world.dest.invalid = lambda data: "Unsupported component"
    world.add("anything")

    progress, _ = world.sync()

    assert progress.counters["errors"] == 1 and "Unsupported component" in world.store.owed()[0].reason


def test_two_way_repairs_what_travels_back_to_the_source_too():
    world = World(mode=Mode.TWO_WAY)
    world.source.invalid = like_cyrus
    world.dest.invalid = None
    href = f"{world.dest_cal.url}made-there.ics"
    world.dest.store(world.dest_cal.url, href, event("made-there", "CATEGORIES:\r\n"))

    progress, result = world.sync()

    assert progress.counters["created"] == 1 and result.repaired == {href: ("removed empty CATEGORIES",)}
    [(_, copied)] = world.source.collections[world.source_cal.url].items.values()
    assert b"CATEGORIES" not in copied
