"""The reconciliation plan, on hand-made cases and as properties over random histories."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jobs.reconcile.plan import (
    DELETES,
    WRITES_SOURCE,
    Action,
    EmptySideGuard,
    Fingerprint,
    Link,
    Mode,
    Op,
    SideListing,
    pair_unlinked,
    plan_actions,
)


def test_an_unchanged_pair_plans_nothing():
    link = Link("/s/a.ics", "e1", "/d/a.ics", "f1")
    plan = plan_actions(SideListing({"/s/a.ics": "e1"}), SideListing({"/d/a.ics": "f1"}), [link], mode=Mode.TWO_WAY)
    assert plan.actions == []
    assert plan.unchanged == 1
    assert plan.new_in_source == {}


def test_a_delta_that_does_not_mention_a_linked_item_means_unchanged():
    link = Link("/s/a.ics", "e1", "/d/a.ics", "f1")
    plan = plan_actions(SideListing({}, complete=False), SideListing({}, complete=False), [link], mode=Mode.MIRROR)
    assert plan.actions == []
    assert plan.unchanged == 1


def test_a_changed_source_item_updates_the_destination_with_its_current_etag():
    link = Link("/s/a.ics", "e1", "/d/a.ics", "f1")
    plan = plan_actions(SideListing({"/s/a.ics": "e2"}), SideListing({"/d/a.ics": "f1"}), [link], mode=Mode.COPY)
    assert plan.actions == [Action(Op.UPDATE_DEST, "/s/a.ics", "/d/a.ics", "e2", "f1", reason="changed in source")]


def test_copy_never_deletes_and_mirror_does():
    link = Link("/s/a.ics", "e1", "/d/a.ics", "f1")
    gone = SideListing({}, complete=False, deleted={"/s/a.ics"})
    dest = SideListing({"/d/a.ics": "f1"})
    assert [a.op for a in plan_actions(gone, dest, [link], mode=Mode.COPY).actions] == [Op.FORGET]
    assert [a.op for a in plan_actions(gone, dest, [link], mode=Mode.MIRROR).actions] == [Op.DELETE_DEST]


def test_mirror_restores_what_was_edited_or_deleted_in_the_destination():
    link = Link("/s/a.ics", "e1", "/d/a.ics", "f1")
    source = SideListing({"/s/a.ics": "e1"})
    edited = plan_actions(source, SideListing({"/d/a.ics": "f9"}), [link], mode=Mode.MIRROR)
    deleted = plan_actions(source, SideListing({}, complete=False, deleted={"/d/a.ics"}), [link], mode=Mode.MIRROR)
    assert [a.op for a in edited.actions] == [Op.UPDATE_DEST]
    assert [a.op for a in deleted.actions] == [Op.CREATE_DEST]


def test_copy_keeps_destination_edits_until_the_source_changes():
    link = Link("/s/a.ics", "e1", "/d/a.ics", "f1")
    plan = plan_actions(SideListing({"/s/a.ics": "e1"}), SideListing({"/d/a.ics": "f9"}), [link], mode=Mode.COPY)
    assert plan.actions == []


def test_two_way_sends_each_change_to_the_other_side_and_flags_double_edits():
    links = [Link(f"/s/{n}", "e1", f"/d/{n}", "f1") for n in "abc"]
    source = SideListing({"/s/a": "e2", "/s/b": "e1", "/s/c": "e2"})
    dest = SideListing({"/d/a": "f1", "/d/b": "f2", "/d/c": "f2"})
    plan = plan_actions(source, dest, links, mode=Mode.TWO_WAY)
    assert [(a.op, a.source_href) for a in plan.actions] == [
        (Op.UPDATE_DEST, "/s/a"),
        (Op.UPDATE_SOURCE, "/s/b"),
        (Op.CONFLICT, "/s/c"),
    ]


def test_in_two_way_a_modification_outlives_a_deletion():
    link = Link("/s/a", "e1", "/d/a", "f1")
    plan = plan_actions(
        SideListing({}, complete=False, deleted={"/s/a"}), SideListing({"/d/a": "f2"}), [link], mode=Mode.TWO_WAY
    )
    assert [a.op for a in plan.actions] == [Op.CREATE_SOURCE]


@pytest.mark.parametrize("mode", [Mode.MIRROR, Mode.TWO_WAY])
def test_a_source_that_suddenly_lists_nothing_does_not_wipe_the_destination(mode):
    links = [Link(f"/s/{n}", "e", f"/d/{n}", "f") for n in range(5)]
    dest = SideListing({f"/d/{n}": "f" for n in range(5)})
    with pytest.raises(EmptySideGuard, match="lists no items, but 5 were synced before"):
        plan_actions(SideListing({}), dest, links, mode=mode)
    confirmed = plan_actions(SideListing({}), dest, links, mode=mode, confirm_empty=True)
    assert confirmed.count(Op.DELETE_DEST) == 5


def test_new_items_are_left_for_pairing_by_uid():
    plan = plan_actions(SideListing({"/s/new": "e"}), SideListing({"/d/old": "f"}), [], mode=Mode.COPY)
    assert plan.new_in_source == {"/s/new": "e"}
    assert plan.unlinked_dest == {"/d/old": "f"}


def test_pairing_links_equal_items_updates_different_ones_and_creates_the_rest():
    source = {
        "/s/same": Fingerprint("uid-1", "h1", "e1"),
        "/s/diff": Fingerprint("uid-2", "h2", "e2"),
        "/s/new": Fingerprint("uid-3", "h3", "e3"),
        "/s/nouid": Fingerprint("", "h4", "e4"),
    }
    dest = {
        "/d/1": Fingerprint("uid-1", "h1", "f1"),
        "/d/2": Fingerprint("uid-2", "hX", "f2"),
        "/d/theirs": Fingerprint("uid-9", "h9", "f9"),
    }
    ops = {a.source_href or a.dest_href: (a.op, a.dest_href) for a in pair_unlinked(source, dest, mode=Mode.MIRROR)}
    assert ops == {
        "/s/same": (Op.LINK, "/d/1"),
        "/s/diff": (Op.UPDATE_DEST, "/d/2"),
        "/s/new": (Op.CREATE_DEST, ""),
        "/s/nouid": (Op.CREATE_DEST, ""),
    }


def test_pairing_in_two_way_sends_destination_only_items_to_the_source():
    dest = {"/d/a": Fingerprint("uid-a", "h", "f"), "/d/b": Fingerprint("uid-b", "h", "f")}
    actions = pair_unlinked({"/s/a": Fingerprint("uid-a", "other", "e")}, dest, mode=Mode.TWO_WAY)
    assert [(a.op, a.dest_href) for a in actions] == [(Op.CONFLICT, "/d/a"), (Op.CREATE_SOURCE, "/d/b")]


def test_duplicate_uids_in_the_destination_are_paired_once():
    dest = {"/d/x2": Fingerprint("uid", "h", "f"), "/d/x1": Fingerprint("uid", "h", "f")}
    actions = pair_unlinked({"/s/a": Fingerprint("uid", "h", "e")}, dest, mode=Mode.COPY)
    assert [(a.op, a.dest_href) for a in actions] == [(Op.LINK, "/d/x1")]


# --- properties over random histories ----------------------------------------------------------


class Side:
    """An in-memory collection: href → (uid, version). Etags are derived from the version."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.items: dict[str, tuple[str, int]] = {}
        self.counter = itertools.count()

    def listing(self) -> SideListing:
        return SideListing({href: f"{uid}@{version}" for href, (uid, version) in self.items.items()})

    def write(self, href: str, uid: str, version: int) -> str:
        href = href or f"{self.prefix}{next(self.counter)}"
        self.items[href] = (uid, version)
        return href

    def etag(self, href: str) -> str:
        uid, version = self.items[href]
        return f"{uid}@{version}"


def sync(source: Side, dest: Side, links: list[Link], mode: Mode) -> list[Link]:
    """A minimal apply: what jobs.reconcile.apply does against real servers, source wins."""
    plan = plan_actions(source.listing(), dest.listing(), links, mode=mode, confirm_empty=True)
    by_source = {link.source_href: link for link in links}
    kept = {link.source_href: link for link in links}

    def fingerprint(side: Side, href: str) -> Fingerprint:
        uid, version = side.items[href]
        return Fingerprint(uid, str(version), side.etag(href))

    actions = plan.actions + pair_unlinked(
        {h: fingerprint(source, h) for h in plan.new_in_source},
        {h: fingerprint(dest, h) for h in plan.unlinked_dest},
        mode=mode,
    )
    for action in actions:
        old = by_source.get(action.source_href)
        if action.op in (Op.CREATE_DEST, Op.UPDATE_DEST, Op.CONFLICT, Op.LINK):
            uid, version = source.items[action.source_href]
            dest_href = action.dest_href
            if action.op != Op.LINK:
                dest_href = dest.write("" if action.op == Op.CREATE_DEST else action.dest_href, uid, version)
            kept[action.source_href] = Link(
                action.source_href, source.etag(action.source_href), dest_href, dest.etag(dest_href)
            )
        elif action.op in (Op.CREATE_SOURCE, Op.UPDATE_SOURCE):
            uid, version = dest.items[action.dest_href]
            source_href = source.write("" if action.op == Op.CREATE_SOURCE else action.source_href, uid, version)
            if old:
                kept.pop(old.source_href, None)
            kept[source_href] = Link(
                source_href, source.etag(source_href), action.dest_href, dest.etag(action.dest_href)
            )
        elif action.op == Op.DELETE_DEST:
            dest.items.pop(action.dest_href, None)
            kept.pop(action.source_href, None)
        elif action.op == Op.DELETE_SOURCE:
            source.items.pop(action.source_href, None)
            kept.pop(action.source_href, None)
        elif action.op == Op.FORGET:
            kept.pop(action.source_href, None)
    return list(kept.values())


edit = st.tuples(st.sampled_from(["source", "dest"]), st.sampled_from(["add", "change", "delete"]), st.integers(0, 7))


@settings(max_examples=150, deadline=None)
@given(mode=st.sampled_from(list(Mode)), history=st.lists(st.lists(edit, max_size=6), min_size=1, max_size=5))
def test_after_any_history_a_second_sync_plans_nothing(mode, history):
    source, dest = Side("/s/"), Side("/d/")
    links: list[Link] = []
    version = itertools.count(1)
    for round_of_edits in history:
        for side_name, kind, n in round_of_edits:
            side = source if side_name == "source" else dest
            hrefs = sorted(side.items)
            if kind == "add" or not hrefs:
                side.write("", f"uid-{side_name}-{next(version)}", 0)
            elif kind == "change":
                href = hrefs[n % len(hrefs)]
                side.items[href] = (side.items[href][0], next(version))
            else:
                side.items.pop(hrefs[n % len(hrefs)])
        source_before = dict(source.items)
        links = sync(source, dest, links, mode)

        if mode != Mode.TWO_WAY:
            assert source.items == source_before, "a one-way sync wrote to the source"
        again = plan_actions(source.listing(), dest.listing(), links, mode=mode, confirm_empty=True)
        assert again.actions == [] and not again.new_in_source
        source_uids = {uid for uid, _ in source.items.values()}
        dest_uids = {uid for uid, _ in dest.items.values()}
        assert source_uids <= dest_uids or mode == Mode.COPY


@given(
    mode=st.sampled_from([Mode.COPY, Mode.MIRROR]),
    source=st.dictionaries(st.sampled_from("abcdef"), st.sampled_from("xyz")),
    dest=st.dictionaries(st.sampled_from("abcdef"), st.sampled_from("xyz")),
)
def test_one_way_plans_never_write_the_source_and_copy_never_deletes(mode, source, dest):
    links = [Link(f"/s/{k}", "x", f"/d/{k}", "x") for k in "abc"]
    plan = plan_actions(
        SideListing({f"/s/{k}": v for k, v in source.items()}),
        SideListing({f"/d/{k}": v for k, v in dest.items()}),
        links,
        mode=mode,
        confirm_empty=True,
    )
    ops = {action.op for action in plan.actions}
    assert not ops & WRITES_SOURCE
    if mode == Mode.COPY:
        assert not ops & DELETES
