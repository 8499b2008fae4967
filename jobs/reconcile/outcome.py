"""What every engine reports: a pair's actions, and a conflict that cannot be resolved as asked.

Here rather than in ``jobs/engines/`` because the engines' own parts (``jobs/timesheets/``) report
in these terms too, and the registry imports them: the shared words sit below both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from calsync.lib.errors import StateConflict

if TYPE_CHECKING:
    from jobs.reconcile.plan import Action


@dataclass
class PairReport:
    """What a run (or a dry run) did, or would do, for one source collection."""

    source: str
    destination: str
    kind: str
    actions: list[Action]
    would_create: list[str]


class ConflictError(StateConflict):
    """The conflict cannot be resolved as asked; the message says why."""
