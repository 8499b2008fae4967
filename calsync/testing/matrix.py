"""The migration matrix: a real-world corpus from Radicale into a server and back out, through the
sync engine, compared with what the server stores from a direct upload of the same bytes.

Shared by jobs/tests/test_migration_matrix.py (which asserts) and bench/real_servers_bench.py
(which prints the figures). The corpus is jobs/tests/data/realworld/: Google, Outlook, Apple and
Thunderbird-style events (recurrences with overrides and EXDATEs, time zones, all-day, floating),
tasks, journals (VJOURNAL, which SOGo cannot store), and vCard 2.1/3.0/4.0 contacts with groups in
both dialects, a few of them the kind some servers refuse until repaired.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import ExitStack, closing
from dataclasses import dataclass, field
from pathlib import Path

from accounts.connectors import connector_for
from accounts.connectors.base import AccountConfig, ItemRejected, ItemStore, RemoteCollection, RemoteItem
from calsync.lib.items import VOLATILE_PROPERTIES, extract_uid, property_name, unfolded_lines
from calsync.lib.repair import repair_item
from calsync.testing.memory import MemoryLinkStore, RecordingProgress
from calsync.testing.servers import DavServer
from jobs.reconcile.apply import PairSync
from jobs.reconcile.pair import Pair, PairResult
from jobs.reconcile.plan import Mode

ROOT = next(folder for folder in Path(__file__).resolve().parents if (folder / "manage.py").exists())
CORPUS = ROOT / "jobs" / "tests" / "data" / "realworld"
KINDS = {"calendar": ("caldav", ".ics"), "addressbook": ("carddav", ".vcf")}
# What servers add or rewrite without changing the meaning: CLASS:PUBLIC is the default
# (RFC 5545 section 3.8.1.3), SOGo adds it and RSVP=TRUE to attendees, and sets its own PRODID.
IGNORED = VOLATILE_PROPERTIES
STRUCTURED = frozenset({"N", "ADR", "ORG", "GEO", "RRULE", "EXRULE", "REQUEST-STATUS", "CATEGORIES"})


def corpus() -> dict[str, dict[str, bytes]]:
    """{"calendar": {file name: bytes}, "addressbook": {…}}."""
    folders = {"calendar": "calendar", "addressbook": "contacts"}
    return {
        kind: {path.name: path.read_bytes() for path in sorted((CORPUS / folder).iterdir())}
        for kind, folder in folders.items()
    }


def normalised(data: bytes) -> tuple[str, ...]:
    """The object's meaning as sorted canonical lines: no volatile properties, no PRODID, no
    default CLASS, no RSVP parameter, parameters and RRULE parts in order, values' trailing
    structured-value separators trimmed (SOGo trims ``N:;;;;``), property names and parameter
    names upper case."""
    path: list[str] = []
    lines = []
    for line in unfolded_lines(data):
        name = property_name(line).rsplit(".", 1)[-1]
        if name == "BEGIN":
            path.append(line.split(":", 1)[1].strip().upper())
            continue
        if name == "END":
            path.pop() if path else None
            continue
        head, _, value = _split(line)
        if name in IGNORED or (name == "CLASS" and value.strip().upper() == "PUBLIC") or name == "VERSION":
            continue
        params = _canonical_params(head.split(";")[1:])
        if name in ("RRULE", "EXRULE"):
            value = ";".join(sorted(value.upper().split(";")))
        # Cyrus stores an X- text's "\;" as ";", Radicale escapes it again: the same text.
        value = value.rstrip(";") if name in STRUCTURED else value.replace("\\;", ";").replace("\\,", ",")
        if "TZID=etc/utc" in params:  # SOGo's floating → Etc/UTC, which vobject writes with a Z
            params.remove("TZID=etc/utc")
            value = value if value.endswith("Z") else value + "Z"
        lines.append(f"{'/'.join(path)}|{name};{';'.join(params)}:{value.rstrip()}")
    return tuple(sorted(lines))


def _split(line: str) -> tuple[str, str, str]:
    in_quotes = False
    for position, char in enumerate(line):
        if char == '"':
            in_quotes = not in_quotes
        elif char == ":" and not in_quotes:
            return line[:position], ":", line[position + 1 :]
    return line, "", ""


def _canonical_params(params: list[str]) -> list[str]:
    """Repeated parameters merged (``TYPE=a;TYPE=b`` is ``TYPE=a,b``), values sorted, case folded."""
    merged: dict[str, set[str]] = {}
    for param in params:
        key, _, value = param.partition("=")
        if key.upper() in ("RSVP", "VALUE"):
            continue
        merged.setdefault(key.upper(), set()).update(part.strip('"').lower() for part in value.split(","))
    return [f"{key}={','.join(sorted(values))}" for key, values in sorted(merged.items())]


@dataclass
class Direction:
    """One direction of the matrix for one server: how many objects, and what became of them."""

    server: str
    direction: str  # "in" (Radicale → server) or "out" (server → a fresh Radicale)
    objects: int = 0
    landed: int = 0
    repaired: int = 0
    refused: int = 0
    duplicates: int = 0
    unequal: list[str] = field(default_factory=list)  # UIDs whose copy differs from the reference
    differences: dict[str, tuple[list[str], list[str]]] = field(default_factory=dict)  # UID → (missing, extra)
    refusals: list[str] = field(default_factory=list)
    repairs: dict[str, tuple[str, ...]] = field(default_factory=dict)  # href → what was repaired


@dataclass
class MatrixRun:
    server: str
    inbound: Direction
    outbound: Direction
    rerun_writes: int = 0
    two_way: dict[str, bool] = field(default_factory=dict)


class Side:
    """One account on one server: a CalDAV and a CardDAV connector, and collections made fresh."""

    def __init__(self, server: DavServer, stack: ExitStack, *, user: str = "") -> None:
        self.server = server
        self.connectors: dict[str, ItemStore] = {}
        username = user or server.username
        password = getattr(server, "users", {}).get(username, server.password)
        for kind, (connector_kind, _) in KINDS.items():
            config = AccountConfig(kind=connector_kind, url=server.url, username=username, password=password)
            self.connectors[kind] = stack.enter_context(closing(connector_for(config)))

    def new_collection(self, kind: str, name: str) -> RemoteCollection:
        components = ("VEVENT", "VTODO", "VJOURNAL") if kind == "calendar" else ()
        return self.connectors[kind].create_collection(
            name=f"{name} {uuid.uuid4().hex[:8]}", kind=kind, components=components
        )

    def items(self, kind: str, collection: RemoteCollection) -> list[RemoteItem]:
        connector = self.connectors[kind]
        return list(connector.fetch(collection, list(connector.list_items(collection).items)))


def reference(side: Side, kind: str, objects: dict[str, bytes]) -> dict[str, tuple[str, ...]]:
    """What the server stores from a direct upload of each object (of its repaired copy when the
    original is refused), by UID. ``side`` is another user than the one the sync writes as where
    the server has one: Cyrus takes a UID once per account, across calendars (RFC 6638 section
    3.1 asks it of scheduling objects only)."""
    collection = side.new_collection(kind, f"reference {kind}")
    connector = side.connectors[kind]
    hrefs = []
    for seed, data in objects.items():
        uid = extract_uid(data)
        try:
            hrefs.append(connector.put(collection, data, uid=uid).href)
        except ItemRejected:
            fixed = repair_item(data, seed=seed)
            if fixed.repairs:
                hrefs.append(connector.put(collection, fixed.data, uid=uid).href)
    return {extract_uid(item.data): normalised(item.data) for item in connector.fetch(collection, hrefs)}


def sync(
    source: Side, dest: Side, kind: str, source_collection: RemoteCollection, dest_collection: RemoteCollection,
    mode: Mode, store: MemoryLinkStore,
) -> tuple[PairResult, RecordingProgress]:  # fmt: skip
    routes = {component: dest_collection for component in ("VEVENT", "VTODO", "VJOURNAL", "VCARD")}
    pair = Pair(
        source.connectors[kind], dest.connectors[kind], source_collection, routes, mode, is_calendar=kind == "calendar"
    )
    progress = RecordingProgress()
    return PairSync(pair, store, progress).run(), progress


def tally(
    direction: Direction, objects: dict[str, bytes], landed: list[RemoteItem], expected: dict[str, tuple[str, ...]],
    result: PairResult, store: MemoryLinkStore,
) -> None:  # fmt: skip
    by_uid: dict[str, list[RemoteItem]] = {}
    for item in landed:
        by_uid.setdefault(extract_uid(item.data), []).append(item)
    direction.objects += len(objects)
    direction.repaired += len(result.repaired)
    direction.repairs.update(result.repaired)
    direction.refused += len(store.owed())
    direction.refusals += [f"{owed.href}: {owed.reason}" for owed in store.owed()]
    for data in objects.values():
        uid = extract_uid(data)
        copies = by_uid.get(uid, [])
        direction.landed += bool(copies)
        direction.duplicates += max(0, len(copies) - 1)
        got = normalised(copies[0].data) if copies else ()
        if copies and uid in expected and got != expected[uid]:
            direction.unequal.append(uid)
            direction.differences[uid] = (sorted(set(expected[uid]) - set(got)), sorted(set(got) - set(expected[uid])))


def run_matrix(server: DavServer, radicale: DavServer, *, name: str = "") -> MatrixRun:
    """Corpus → Radicale (as a user's old server) → ``server`` (two-way job) → a fresh Radicale."""
    name = name or server.name
    run = MatrixRun(name, Direction(name, "in"), Direction(name, "out"))
    with ExitStack() as stack:
        old, new = Side(radicale, stack), Side(server, stack)
        other = Side(server, stack, user="bob") if "bob" in getattr(server, "users", {}) else new
        for kind, objects in corpus().items():
            _run_kind(run, old, new, other, kind, objects)
    return run


def _run_kind(run: MatrixRun, old: Side, new: Side, other: Side, kind: str, objects: dict[str, bytes]) -> None:
    source = old.new_collection(kind, f"old {run.server}")
    for data in objects.values():
        old.connectors[kind].put(source, data, uid=extract_uid(data))
    # The bytes calsync copies are the old server's (Radicale rewrites some as it stores them).
    originals = {item.href: item.data for item in old.items(kind, source)}
    expected = reference(other, kind, originals)
    dest = new.new_collection(kind, f"migrated {kind}")
    store = MemoryLinkStore()
    result, _ = sync(old, new, kind, source, dest, Mode.TWO_WAY, store)
    tally(run.inbound, originals, new.items(kind, dest), expected, result, store)

    _, progress = sync(old, new, kind, source, dest, Mode.TWO_WAY, store)
    run.rerun_writes += sum(progress.counters.get(c, 0) for c in ("created", "updated", "deleted"))

    stored = {item.href: item.data for item in new.items(kind, dest)}
    back = old.new_collection(kind, f"back from {run.server}")
    out_store = MemoryLinkStore()
    out, _ = sync(new, old, kind, dest, back, Mode.COPY, out_store)
    # Compared with the server's copy, or with its repaired copy where the engine repaired it.
    on_server = {
        extract_uid(data): normalised(repair_item(data, seed=href).data if href in out.repaired else data)
        for href, data in stored.items()
    }
    tally(run.outbound, stored, old.items(kind, back), on_server, out, out_store)

    run.two_way.update(_two_way(old, new, kind, source, dest, store))


def _two_way(
    old: Side, new: Side, kind: str, source: RemoteCollection, dest: RemoteCollection, store: MemoryLinkStore
) -> dict[str, bool]:
    """An edit and a deletion on each side, then one run: each must arrive on the other side (what
    the server refused to store stays where it is, still refused)."""
    old_items = {extract_uid(i.data): i for i in old.items(kind, source)}
    new_items = {extract_uid(i.data): i for i in new.items(kind, dest)}
    shared = sorted(set(old_items) & set(new_items))
    refused = set(old_items) - set(new_items)
    edit_old, edit_new, drop_old, drop_new = shared[:4]
    marker = "SUMMARY" if kind == "calendar" else "NOTE"
    for side, collection, item, text in (
        (old, source, old_items[edit_old], "edited on the old server"),
        (new, dest, new_items[edit_new], "edited on the new server"),
    ):
        side.connectors[kind].put(collection, _edited(item.data, marker, text), href=item.href, etag=item.etag)
    old.connectors[kind].delete(old_items[drop_old].href, etag=old_items[drop_old].etag)
    new.connectors[kind].delete(new_items[drop_new].href, etag=new_items[drop_new].etag)

    sync(old, new, kind, source, dest, Mode.TWO_WAY, store)

    after_old = {extract_uid(i.data): i.data for i in old.items(kind, source)}
    after_new = {extract_uid(i.data): i.data for i in new.items(kind, dest)}
    return {
        f"{kind}: edit old → new": b"edited on the old server" in after_new.get(edit_old, b""),
        f"{kind}: edit new → old": b"edited on the new server" in after_old.get(edit_new, b""),
        f"{kind}: delete old → new": drop_old not in after_new,
        f"{kind}: delete new → old": drop_new not in after_old,
        f"{kind}: nothing else changed": set(after_old) - refused == set(after_new),
    }


def _edited(data: bytes, name: str, text: str) -> bytes:
    """The object with ``name`` set to ``text`` in its first component (added if missing)."""
    lines = data.decode().split("\r\n")
    for index, line in enumerate(lines):
        if property_name(line) == name:
            lines[index] = f"{name}:{text}"
            return "\r\n".join(lines).encode()
    at = next(i for i, line in enumerate(lines) if property_name(line) == "UID") + 1
    return "\r\n".join([*lines[:at], f"{name}:{text}", *lines[at:]]).encode()


def summary(runs: list[MatrixRun]) -> Iterator[str]:
    """The matrix as printable lines: server by direction: objects, landed, repaired, refused."""
    yield f"{'server':<10} {'direction':<9} {'objects':>7} {'landed':>6} {'repaired':>8} {'refused':>7} {'unequal':>7}"
    for run in runs:
        for direction in (run.inbound, run.outbound):
            yield (
                f"{run.server:<10} {direction.direction:<9} {direction.objects:>7} {direction.landed:>6} "
                f"{direction.repaired:>8} {direction.refused:>7} {len(direction.unequal):>7}"
            )
