"""The time-sheet reconciliation plan: hand-made cases for every kind, and properties."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from jobs.reconcile.plan import Op
from jobs.timesheets.entries import Desired, KimaiEntry, Unresolved, marker_for, marker_in
from jobs.timesheets.plan import Options, OrphanPolicy, Reason, UpdatePolicy, plan_timesheets, state_key

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


def want(source_id: str, minutes: int = 15, **changes) -> Desired:
    values = {
        "source_id": source_id,
        "ticket_id": 1,
        "begin": T0,
        "duration_seconds": minutes * 60,
        "project": 1,
        "activity": 2,
        "user": 3,
        "description": f"Zammad #100 Printer {marker_for(source_id)}",
    }
    return Desired(**{**values, **changes})


def kimai_for(d: Desired, kimai_id: int, **changes) -> KimaiEntry:
    values = {
        "id": kimai_id,
        "begin": d.begin,
        "end": d.begin + timedelta(seconds=d.duration_seconds),
        "duration_seconds": d.duration_seconds,
        "description": d.description,
        "project": d.project,
        "activity": d.activity,
        "user": d.user,
    }
    return KimaiEntry(**{**values, **changes})


def ops(plan) -> list[tuple[str, str, str]]:
    return sorted((a.op.value, a.source_id, a.reason) for a in plan.actions)


def test_the_marker_round_trips_and_holds_no_colon():
    assert marker_for(9) == "[zammad-ta-9]"
    assert ":" not in marker_for(9)
    assert marker_in("Zammad #53003 Order [zammad-ta-9]") == "9"
    assert marker_in("made by hand") is None


def test_a_missing_entry_is_created():
    plan = plan_timesheets([want("1")], [], known_source_ids={"1"}, links={})
    assert ops(plan) == [("create-destination", "1", "missing")]


def test_a_synced_unchanged_entry_plans_nothing_even_after_kimai_rounded_it():
    d = want("1", minutes=15)
    rounded = kimai_for(d, 10, duration_seconds=15 * 60 + 59)
    plan = plan_timesheets([d], [rounded], known_source_ids={"1"}, links={"1": d.fingerprint()})
    assert plan.actions == []
    assert plan.unchanged == 1


def test_an_edited_source_updates_kimai_or_waits_under_the_manual_policy():
    old, new = want("1", minutes=15), want("1", minutes=30)
    kimai = [kimai_for(old, 10)]
    links = {"1": old.fingerprint()}
    assert ops(plan_timesheets([new], kimai, known_source_ids={"1"}, links=links)) == [
        ("update-destination", "1", "changed")
    ]
    manual = Options(update=UpdatePolicy.MANUAL)
    assert ops(plan_timesheets([new], kimai, known_source_ids={"1"}, links=links, options=manual)) == [
        ("conflict", "1", "changed")
    ]


def test_two_kimai_entries_with_one_marker_are_a_duplicate_conflict():
    d = want("1")
    plan = plan_timesheets([d], [kimai_for(d, 10), kimai_for(d, 11)], known_source_ids={"1"}, links={})
    assert ops(plan) == [("conflict", "1", "duplicate")]
    assert plan.actions[0].kimai_ids == (10, 11)


def test_a_duration_changed_in_kimai_beyond_rounding_is_a_mismatch():
    d = want("1", minutes=15)
    plan = plan_timesheets(
        [d], [kimai_for(d, 10, duration_seconds=45 * 60)], known_source_ids={"1"}, links={"1": d.fingerprint()}
    )
    assert ops(plan) == [("conflict", "1", "duration_mismatch")]


def test_an_exported_entry_is_never_updated_or_deleted():
    old, new = want("1", minutes=15), want("1", minutes=30)
    exported = kimai_for(old, 10, exported=True)
    assert ops(plan_timesheets([new], [exported], known_source_ids={"1"}, links={"1": old.fingerprint()})) == [
        ("conflict", "1", "exported")
    ]
    orphan = kimai_for(want("7"), 11, exported=True)
    delete = Options(orphans=OrphanPolicy.DELETE)
    assert ops(plan_timesheets([], [orphan], known_source_ids=set(), links={}, options=delete)) == [
        ("conflict", "7", "orphan")
    ]


def test_unresolved_entries_are_conflicts_with_their_reason():
    plan = plan_timesheets(
        [Unresolved("1", 1, Reason.ACTIVITY_UNMAPPED), Unresolved("2", 1, Reason.PROJECT_MISSING)],
        [],
        known_source_ids={"1", "2"},
        links={},
    )
    assert ops(plan) == [("conflict", "1", "activity_unmapped"), ("conflict", "2", "project_missing")]


def test_an_orphan_is_a_conflict_or_deleted_per_policy_and_a_known_old_source_is_no_orphan():
    gone, old = kimai_for(want("7"), 11), kimai_for(want("8"), 12)
    conflict = plan_timesheets([], [gone, old], known_source_ids={"8"}, links={})
    assert ops(conflict) == [("conflict", "7", "orphan")]
    delete = plan_timesheets([], [gone], known_source_ids=set(), links={}, options=Options(orphans="delete"))
    assert ops(delete) == [("delete-destination", "7", "orphan")]


def test_entries_made_by_hand_are_never_touched():
    by_hand = KimaiEntry(99, T0, T0, 60, "Meeting with Bob", 1, 2, 3)
    plan = plan_timesheets([], [by_hand], known_source_ids=set(), links={})
    assert plan.actions == []
    assert plan.untouched_by_hand == 1


def test_a_right_entry_without_a_link_is_adopted_not_rewritten():
    d = want("1")
    assert ops(plan_timesheets([d], [kimai_for(d, 10)], known_source_ids={"1"}, links={})) == [("link", "1", "adopted")]


# --- properties ------------------------------------------------------------------------------

states = st.sampled_from(["absent", "same", "edited_source", "edited_kimai", "twice", "by_hand"])


@settings(max_examples=200, deadline=None)
@given(st.lists(states, max_size=30), st.sampled_from(list(OrphanPolicy)), st.sampled_from(list(UpdatePolicy)))
def test_every_source_entry_gets_at_most_one_action_and_hand_made_entries_none(history, orphans, update):
    wanted, kimai, links = [], [], {}
    for n, state in enumerate(history):
        sid, d = str(n), want(str(n))
        if state != "by_hand":
            wanted.append(d)
        if state in ("same", "edited_kimai", "twice"):
            links[sid] = d.fingerprint()
        if state == "edited_source":
            links[sid] = want(sid, minutes=99).fingerprint()
        if state in ("same", "edited_source", "twice"):
            kimai.append(kimai_for(d, 1000 + n))
        if state == "edited_kimai":
            kimai.append(kimai_for(d, 1000 + n, duration_seconds=9999))
        if state == "twice":
            kimai.append(kimai_for(d, 2000 + n))
        if state == "by_hand":
            kimai.append(KimaiEntry(3000 + n, T0, T0, 60, "by hand", 1, 2, 3))
    plan = plan_timesheets(
        wanted,
        kimai,
        known_source_ids={d.source_id for d in wanted},
        links=links,
        options=Options(orphans=orphans, update=update),
    )
    per_source = [a.source_id for a in plan.actions]
    assert len(per_source) == len(set(per_source))
    touched = {k for a in plan.actions for k in a.kimai_ids}
    assert not touched & {3000 + n for n, s in enumerate(history) if s == "by_hand"}
    assert plan.unchanged == history.count("same")
    assert len(plan.of(Op.CREATE_DEST)) == history.count("absent")
    assert {a.source_id for a in plan.of(Op.DELETE_DEST)} == set()


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=200), max_size=40))
def test_applying_the_plan_and_planning_again_plans_nothing(minutes):
    wanted = [want(str(n), minutes=m + 1) for n, m in enumerate(minutes)]
    first = plan_timesheets(wanted, [], known_source_ids={d.source_id for d in wanted}, links={})
    kimai = [kimai_for(a.desired, n) for n, a in enumerate(first.of(Op.CREATE_DEST))]
    links = {a.source_id: a.desired.fingerprint() for a in first.actions}
    second = plan_timesheets(wanted, kimai, known_source_ids={d.source_id for d in wanted}, links=links)
    assert second.actions == []
    assert second.unchanged == len(wanted)


def test_a_state_kept_by_a_human_plans_nothing_until_either_side_changes():
    d = want("1")
    edited = kimai_for(d, 10, duration_seconds=45 * 60)
    copies = [kimai_for(want("2"), 11), kimai_for(want("2"), 12)]  # a duplicate
    orphan = kimai_for(want("9"), 13)
    unmapped = Unresolved("5", 1, Reason.ACTIVITY_UNMAPPED)
    accepted = {
        "1": state_key(d, [edited]),
        "2": state_key(want("2"), copies),
        "9": state_key(None, [orphan]),
        "5": state_key(unmapped, []),
    }
    kept = plan_timesheets(
        [d, want("2"), unmapped],
        [edited, *copies, orphan],
        known_source_ids={"1", "2", "5"},
        links={"1": d.fingerprint()},
        accepted=accepted,
    )
    assert (kept.actions, kept.unchanged) == ([], 4)
    moved = plan_timesheets(
        [want("1", minutes=20)], [edited], known_source_ids={"1"}, links={"1": d.fingerprint()}, accepted=accepted
    )
    assert ops(moved) == [("update-destination", "1", "changed")]
    edited_again = plan_timesheets(
        [d],
        [kimai_for(d, 10, duration_seconds=50 * 60)],
        known_source_ids={"1"},
        links={"1": d.fingerprint()},
        accepted=accepted,
    )
    assert ops(edited_again) == [("conflict", "1", "duration_mismatch")]
