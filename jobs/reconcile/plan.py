"""The reconciliation plan: a pure function from two listings and the remembered links to actions.

It knows nothing of HTTP or the ORM. Inputs are what a cheap listing gives (href → etag, complete
or as a sync-collection delta) and the ``ItemLink`` state of earlier runs; the output says what to
create, update or delete on which side. Content is compared later, by ``apply``, only for the few
items the plan names: an unchanged re-run plans nothing and fetches nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from calsync.lib.errors import StateConflict


class Mode(StrEnum):
    COPY = "copy"  # one-way, never deletes
    MIRROR = "mirror"  # one-way, the destination becomes a replica
    TWO_WAY = "two-way"


class Policy(StrEnum):
    SOURCE_WINS = "source"
    DESTINATION_WINS = "destination"
    MANUAL = "manual"


class Op(StrEnum):
    CREATE_DEST = "create-destination"
    UPDATE_DEST = "update-destination"
    DELETE_DEST = "delete-destination"
    CREATE_SOURCE = "create-source"
    UPDATE_SOURCE = "update-source"
    DELETE_SOURCE = "delete-source"
    CONFLICT = "conflict"  # both sides changed: apply compares content, then the policy decides
    LINK = "link"  # the same item already exists on both sides: remember the pair, write nothing
    FORGET = "forget"  # drop the link, touch nothing


WRITES_SOURCE = frozenset({Op.CREATE_SOURCE, Op.UPDATE_SOURCE, Op.DELETE_SOURCE})
DELETES = frozenset({Op.DELETE_DEST, Op.DELETE_SOURCE})


@dataclass(frozen=True, slots=True)
class Link:
    """What an earlier run left: the pair of hrefs and the etags both sides had then."""

    source_href: str
    source_etag: str
    dest_href: str
    dest_etag: str


@dataclass(slots=True)
class SideListing:
    """One side's listing. A delta (``complete=False``) names only what changed since the token."""

    items: dict[str, str]
    complete: bool = True
    deleted: set[str] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class Action:
    """One step. Hrefs are the link's (or the unlinked item's); a CREATE always writes a new
    object and its old href on the target side, if any, is gone."""

    op: Op
    source_href: str = ""
    dest_href: str = ""
    source_etag: str = ""  # the etag the side has now, for If-Match
    dest_etag: str = ""
    reason: str = ""


@dataclass(slots=True)
class Plan:
    actions: list[Action] = field(default_factory=list)
    # Items no link covers, href → etag. ``pair_unlinked`` matches them by UID once their content
    # is fetched, so a resumed or repeated migration links what is already there instead of
    # copying it twice.
    new_in_source: dict[str, str] = field(default_factory=dict)
    unlinked_dest: dict[str, str] = field(default_factory=dict)
    unchanged: int = 0

    def count(self, op: Op) -> int:
        return sum(1 for action in self.actions if action.op == op)


class EmptySideGuard(StateConflict):
    """A side that used to have items suddenly lists none: refuse to propagate a wipe."""


@dataclass(frozen=True, slots=True)
class _State:
    present: bool
    etag: str  # current etag when present and known
    changed: bool


def _state(listing: SideListing, href: str, remembered_etag: str) -> _State:
    if href in listing.items:
        etag = listing.items[href]
        return _State(True, etag, etag != remembered_etag)
    if href in listing.deleted or listing.complete:
        return _State(False, "", True)
    # A delta that does not mention the href: unchanged since the last token.
    return _State(True, remembered_etag, False)


def _guard_empty(listing: SideListing, links: list[Link], side: str, confirmed: bool) -> None:
    if confirmed or not links or not listing.complete or listing.items:
        return
    raise EmptySideGuard(
        f"The {side} lists no items, but {len(links)} were synced before. Refusing to delete them "
        f"all; if the {side} really is empty now, run again with the empty-{side} confirmation."
    )


def plan_actions(
    source: SideListing,
    dest: SideListing,
    links: Iterable[Link],
    *,
    mode: Mode,
    confirm_empty: bool = False,
) -> Plan:
    links = list(links)
    if mode in (Mode.MIRROR, Mode.TWO_WAY):
        _guard_empty(source, links, "source", confirm_empty)
    if mode == Mode.TWO_WAY:
        _guard_empty(dest, links, "destination", confirm_empty)

    plan = Plan()
    plan_link = _plan_two_way if mode == Mode.TWO_WAY else _plan_one_way
    linked_source: set[str] = set()
    linked_dest: set[str] = set()
    for link in links:
        linked_source.add(link.source_href)
        linked_dest.add(link.dest_href)
        s = _state(source, link.source_href, link.source_etag)
        d = _state(dest, link.dest_href, link.dest_etag)
        action = plan_link(link, s, d, mode)
        if action is None:
            plan.unchanged += 1
        else:
            plan.actions.append(action)

    plan.new_in_source = {href: etag for href, etag in source.items.items() if href not in linked_source}
    plan.unlinked_dest = {href: etag for href, etag in dest.items.items() if href not in linked_dest}
    return plan


def _plan_one_way(link: Link, s: _State, d: _State, mode: Mode) -> Action | None:
    hrefs = {"source_href": link.source_href, "dest_href": link.dest_href, "source_etag": s.etag, "dest_etag": d.etag}
    if not s.present:
        if mode == Mode.MIRROR and d.present:
            return Action(Op.DELETE_DEST, **hrefs, reason="deleted in source")
        return Action(Op.FORGET, **hrefs, reason="deleted in source" if mode == Mode.MIRROR else "copy never deletes")
    if not d.present:
        # Forgetting the link instead would make the item "new in source" on the next run and
        # recreate it anyway; saying so here keeps the run's counters honest.
        return Action(Op.CREATE_DEST, **hrefs, reason="missing in destination")
    if s.changed:
        return Action(Op.UPDATE_DEST, **hrefs, reason="changed in source")
    if d.changed and mode == Mode.MIRROR:
        return Action(Op.UPDATE_DEST, **hrefs, reason="changed in destination; mirror restores it")
    return None


def _plan_two_way(link: Link, s: _State, d: _State, mode: Mode) -> Action | None:
    hrefs = {"source_href": link.source_href, "dest_href": link.dest_href, "source_etag": s.etag, "dest_etag": d.etag}
    if not s.present and not d.present:
        return Action(Op.FORGET, **hrefs, reason="deleted on both sides")
    if not s.present:
        if d.changed:  # a modification outlives a deletion on the other side
            return Action(Op.CREATE_SOURCE, **hrefs, reason="deleted in source, changed in destination")
        return Action(Op.DELETE_DEST, **hrefs, reason="deleted in source")
    if not d.present:
        if s.changed:
            return Action(Op.CREATE_DEST, **hrefs, reason="deleted in destination, changed in source")
        return Action(Op.DELETE_SOURCE, **hrefs, reason="deleted in destination")
    if s.changed and d.changed:
        return Action(Op.CONFLICT, **hrefs, reason="changed on both sides")
    if s.changed:
        return Action(Op.UPDATE_DEST, **hrefs, reason="changed in source")
    if d.changed:
        return Action(Op.UPDATE_SOURCE, **hrefs, reason="changed in destination")
    return None


@dataclass(frozen=True, slots=True)
class Fingerprint:
    uid: str
    hash: str
    etag: str = ""


def pair_unlinked(
    new_in_source: dict[str, Fingerprint],
    unlinked_dest: dict[str, Fingerprint],
    *,
    mode: Mode,
    dest_only: bool = True,
) -> list[Action]:
    """Decide what happens to items that no link covers, by UID and content.

    An item with the same UID on both sides is the same item (a crashed run's last write, or a
    migration repeated onto a filled server): equal content is linked, different content is an
    update in one-way modes and a conflict in two-way mode. Duplicate UIDs on the destination are
    paired once, in href order; the rest stay unlinked. With ``dest_only=False`` the caller pairs
    in batches and asks for the destination-only items once at the end (``dest_only_actions``).
    """
    by_uid: dict[str, tuple[str, Fingerprint]] = {}
    for href in sorted(unlinked_dest):
        fingerprint = unlinked_dest[href]
        if fingerprint.uid:
            by_uid.setdefault(fingerprint.uid, (href, fingerprint))

    actions: list[Action] = []
    paired: set[str] = set()
    for source_href, fp in new_in_source.items():
        match = by_uid.pop(fp.uid, None) if fp.uid else None
        if match is None:
            actions.append(Action(Op.CREATE_DEST, source_href=source_href, source_etag=fp.etag, reason="new in source"))
            continue
        dest_href, dest_fp = match
        paired.add(dest_href)
        pair = {"source_href": source_href, "dest_href": dest_href, "source_etag": fp.etag, "dest_etag": dest_fp.etag}
        if fp.hash == dest_fp.hash:
            actions.append(Action(Op.LINK, **pair, reason="already in destination"))
        elif mode == Mode.TWO_WAY:
            actions.append(Action(Op.CONFLICT, **pair, reason="differs on both sides, never synced"))
        else:
            actions.append(Action(Op.UPDATE_DEST, **pair, reason="differs in destination"))

    if mode == Mode.TWO_WAY and dest_only:
        actions.extend(dest_only_actions({h: fp for h, fp in unlinked_dest.items() if h not in paired}))
    return actions


def dest_only_actions(unlinked_dest: dict[str, Fingerprint]) -> list[Action]:
    """Two-way: destination items nobody linked travel to the source."""
    return [
        Action(Op.CREATE_SOURCE, dest_href=href, dest_etag=unlinked_dest[href].etag, reason="new in destination")
        for href in sorted(unlinked_dest)
    ]
