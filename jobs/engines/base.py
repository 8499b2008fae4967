"""What every engine is: the ``Engine`` protocol, the report it returns, and typed options.

An engine syncs one or more pairs of account kinds (``jobs.engines.ENGINES``). It reads its
options from the job's fields into its own frozen dataclass; each field carries a default and a
help text (``field(..., metadata=helps(...))``), which the admin's job form shows
(``jobs.engines.forms``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, Self, runtime_checkable

from django.core.exceptions import ValidationError

from calsync.lib.errors import StateConflict

if TYPE_CHECKING:
    from jobs.models import Conflict, SyncJob, SyncRun
    from jobs.reconcile.plan import Action


@dataclass
class PairReport:
    """What a run (or a dry run) did, or would do, for one source collection."""

    source: str
    destination: str
    kind: str
    actions: list[Action]
    would_create: list[str]


def helps(text: str) -> dict[str, str]:
    """A field's metadata for an engine's options: the help text forms and docs show."""
    return {"help": text}


@dataclass(frozen=True)
class EngineOptions:
    """Base of every engine's options. A field's name is the ``SyncJob`` field it is stored in."""

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def help_texts(cls) -> dict[str, str]:
        return {f.name: f.metadata.get("help", "") for f in dataclasses.fields(cls)}

    @classmethod
    def from_job(cls, job: SyncJob) -> Self:
        return cls(**{name: getattr(job, name) for name in cls.names()})

    def validate(self) -> None:
        """Raise ``ValidationError({field: message})`` when the options cannot work together."""
        errors = self.errors()
        if errors:
            raise ValidationError(errors)

    def errors(self) -> dict[str, str]:
        return {}


@runtime_checkable
class Engine(Protocol):
    """Syncs jobs of one or more pairs of account kinds. Stateless: one instance serves every job."""

    name: ClassVar[str]
    options_class: ClassVar[type[EngineOptions]]

    def options(self, job: SyncJob) -> EngineOptions:
        """The job's options, typed; ``validate()`` them before saving."""
        ...

    def run(self, job: SyncJob, progress: Any, *, run: SyncRun | None, confirm_empty: bool) -> list[PairReport]:
        """Sync ``job`` for ``run``, reporting to ``progress``; item failures are logged, not raised."""
        ...

    def plan(self, job: SyncJob, progress: Any, *, confirm_empty: bool) -> list[PairReport]:
        """What ``run`` would do, writing nothing (the dry run)."""
        ...

    def resolve(self, *, conflict: Conflict, resolution: str) -> tuple[dict | None, dict | None]:
        """Write the chosen side of ``conflict``; returns the audit's before and after."""
        ...


class EngineBase:
    """The common half of an engine: options read from the job, validated by their class."""

    name: ClassVar[str] = ""
    options_class: ClassVar[type[EngineOptions]] = EngineOptions

    def options(self, job: SyncJob) -> EngineOptions:
        return self.options_class.from_job(job)


class ConflictError(StateConflict):
    """The conflict cannot be resolved as asked; the message says why."""
