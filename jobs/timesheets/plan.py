"""Reconcile Zammad time entries with Kimai timesheets: a pure function, no ORM, no HTTP.

Kinds: ``missing`` → create; ``changed`` (the source moved on since the last sync) → update, or
a conflict under the manual policy; ``duplicate`` (several Kimai entries carry one marker) →
conflict; ``mismatch`` (Kimai differs while the source did not change, a mapping is missing, the
entry is exported) → conflict with a reason code; ``orphan`` (the marker's source is gone) →
conflict or delete per policy. Kimai entries without a marker were made by hand and are never
touched. A conflict a human settled with "keep Kimai" stays settled while neither side changes:
``accepted`` holds the ``state_key`` of both sides at that moment. Everything is dict lookups,
so 10,000 against 10,000 plans in well under a second.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from jobs.reconcile.plan import Op
from jobs.timesheets.entries import Desired, KimaiEntry, Unresolved, dest_href, source_href


class Reason(StrEnum):
    MISSING = "missing"
    CHANGED = "changed"
    DUPLICATE = "duplicate"
    DURATION_MISMATCH = "duration_mismatch"
    KIMAI_CHANGED = "kimai_changed"
    ACTIVITY_UNMAPPED = "activity_unmapped"
    PROJECT_MISSING = "project_missing"
    USER_UNMAPPED = "user_unmapped"
    TIMEZONE_UNKNOWN = "timezone_unknown"
    EXPORTED = "exported"
    LOCKED = "locked"
    ORPHAN = "orphan"
    ADOPTED = "adopted"


class UpdatePolicy(StrEnum):
    SOURCE = "source"  # a changed source entry overwrites Kimai
    MANUAL = "manual"  # a changed source entry waits as a conflict


class OrphanPolicy(StrEnum):
    CONFLICT = "conflict"
    DELETE = "delete"


@dataclass(frozen=True, slots=True)
class Options:
    update: UpdatePolicy = UpdatePolicy.SOURCE
    orphans: OrphanPolicy = OrphanPolicy.CONFLICT
    # Kimai's rounding step: by default it floors begin and ceils end to the minute, so a
    # duration may grow by up to two steps without anyone having changed it.
    rounding_seconds: int = 60


@dataclass(frozen=True, slots=True)
class TimesheetAction:
    op: Op
    source_id: str = ""
    kimai_ids: tuple[int, ...] = ()
    reason: str = ""
    desired: Desired | None = None

    @property
    def source_href(self) -> str:
        return source_href(self.source_id) if self.source_id else ""

    @property
    def dest_href(self) -> str:
        return ", ".join(dest_href(k) for k in self.kimai_ids)


@dataclass(slots=True)
class TimesheetPlan:
    actions: list[TimesheetAction] = field(default_factory=list)
    unchanged: int = 0
    untouched_by_hand: int = 0

    def of(self, op: Op) -> list[TimesheetAction]:
        return [a for a in self.actions if a.op == op]


def state_key(want: Desired | Unresolved | None, found: Sequence[KimaiEntry]) -> str:
    """Both sides of one source entry as one digest: what "keep Kimai" accepts."""
    if isinstance(want, Desired):
        source = want.fingerprint()
    else:
        source = f"unresolved:{want.reason}" if want is not None else "orphan"
    kimai = sorted(
        (k.id, int(k.begin.timestamp()), k.duration_seconds, k.project, k.activity, k.user, k.description, k.exported)
        for k in found
    )
    return hashlib.sha256(repr((source, kimai)).encode()).hexdigest()


def _matches(kimai: KimaiEntry, want: Desired, step: int) -> bool:
    return (
        kimai.project == want.project
        and kimai.activity == want.activity
        and kimai.user == want.user
        and kimai.description == want.description
        and abs((kimai.begin - want.begin).total_seconds()) <= step
        and abs(kimai.duration_seconds - want.duration_seconds) <= 2 * step
    )


def plan_timesheets(
    wanted: Iterable[Desired | Unresolved],
    kimai: Iterable[KimaiEntry],
    *,
    known_source_ids: set[str],
    links: Mapping[str, str],
    options: Options = Options(),  # frozen, so one shared default is safe
    accepted: Mapping[str, str] | None = None,
) -> TimesheetPlan:
    """``known_source_ids``: every source id that still exists (whatever its date), so an entry
    outside the run's date window is never taken for an orphan. ``links``: source id → the
    fingerprint of the ``Desired`` value last written to Kimai. ``accepted``: source id → the
    ``state_key`` a human kept as it was."""
    accepted = accepted or {}
    plan = TimesheetPlan()
    by_marker = _by_marker(plan, kimai)
    add = plan.actions.append
    for want in wanted:
        found = by_marker.get(want.source_id, [])
        ids = tuple(k.id for k in found)
        if want.source_id in accepted and accepted[want.source_id] == state_key(want, found):
            plan.unchanged += 1
        elif isinstance(want, Unresolved):
            add(TimesheetAction(Op.CONFLICT, want.source_id, ids, want.reason))
        elif not found:
            add(TimesheetAction(Op.CREATE_DEST, want.source_id, (), Reason.MISSING, want))
        elif len(found) > 1:
            add(TimesheetAction(Op.CONFLICT, want.source_id, ids, Reason.DUPLICATE, want))
        else:
            _plan_one(plan, want, found[0], links.get(want.source_id), options)
    for marker, entries in by_marker.items():
        if marker not in known_source_ids:
            _plan_orphans(plan, marker, entries, accepted, options)
    return plan


def _by_marker(plan: TimesheetPlan, kimai: Iterable[KimaiEntry]) -> dict[str, list[KimaiEntry]]:
    """Kimai's entries by the source id their marker names; the ones without a marker are only counted."""
    by_marker: dict[str, list[KimaiEntry]] = defaultdict(list)
    for entry in kimai:
        marker = entry.marker
        if marker is None:
            plan.untouched_by_hand += 1
        else:
            by_marker[marker].append(entry)
    return by_marker


def _plan_orphans(
    plan: TimesheetPlan, marker: str, entries: list[KimaiEntry], accepted: Mapping[str, str], options: Options
) -> None:
    """Entries whose source is gone: deleted or raised as conflicts, unless a human kept them as they are."""
    if marker in accepted and accepted[marker] == state_key(None, entries):
        plan.unchanged += len(entries)
        return
    for entry in entries:
        if options.orphans == OrphanPolicy.DELETE and not entry.exported:
            plan.actions.append(TimesheetAction(Op.DELETE_DEST, marker, (entry.id,), Reason.ORPHAN))
        else:
            plan.actions.append(TimesheetAction(Op.CONFLICT, marker, (entry.id,), Reason.ORPHAN))


def _plan_one(plan: TimesheetPlan, want: Desired, kimai: KimaiEntry, synced: str | None, options: Options) -> None:
    ids = (kimai.id,)
    if _matches(kimai, want, options.rounding_seconds):
        if synced == want.fingerprint():
            plan.unchanged += 1
        else:  # right already (a crash after the write, or a re-created link): remember it
            plan.actions.append(TimesheetAction(Op.LINK, want.source_id, ids, Reason.ADOPTED, want))
        return
    source_changed = synced != want.fingerprint()
    if not source_changed:
        duration_off = abs(kimai.duration_seconds - want.duration_seconds) > 2 * options.rounding_seconds
        reason = Reason.DURATION_MISMATCH if duration_off else Reason.KIMAI_CHANGED
        plan.actions.append(TimesheetAction(Op.CONFLICT, want.source_id, ids, reason, want))
    elif kimai.exported:
        plan.actions.append(TimesheetAction(Op.CONFLICT, want.source_id, ids, Reason.EXPORTED, want))
    elif options.update == UpdatePolicy.MANUAL:
        plan.actions.append(TimesheetAction(Op.CONFLICT, want.source_id, ids, Reason.CHANGED, want))
    else:
        plan.actions.append(TimesheetAction(Op.UPDATE_DEST, want.source_id, ids, Reason.CHANGED, want))
