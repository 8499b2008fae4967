"""Resolving a conflict a job left for a human: use one side's version, or ignore it.

The job's engine (``jobs.engines``) writes the chosen side: DAV jobs write the stored version back
with If-Match; time sheets re-read both sides first. Every resolution is audited here, since the
final ``update()`` fires no signal.
"""

from __future__ import annotations

import logging

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from calsync.ops.audit import conflict_resolution_audit
from jobs.engines import engine_for
from jobs.engines.base import ConflictError
from jobs.models import Conflict

logger = logging.getLogger(__name__)


__all__ = ["ConflictError", "conflict_resolve"]


def conflict_resolve(*, conflict: Conflict, resolution: str, user: AbstractBaseUser | None) -> Conflict:
    """Write the chosen version over the other (with If-Match, so a newer edit is never lost)."""
    if not conflict.is_open:
        raise ConflictError(f"conflict #{conflict.pk} was already resolved ({conflict.resolution})")
    if resolution not in Conflict.Resolution.values:
        raise ConflictError(f"resolution must be one of {', '.join(Conflict.Resolution.values)}")
    before: dict | None = None
    after: dict | None = None
    if resolution != Conflict.Resolution.IGNORE:
        before, after = engine_for(conflict.job).resolve(conflict=conflict, resolution=resolution)
    with transaction.atomic():
        updated = Conflict.objects.filter(pk=conflict.pk, resolution="").update(
            resolution=resolution,
            resolved_by=user if user and user.is_authenticated else None,
            resolved_at=timezone.now(),
        )
    if not updated:
        raise ConflictError(f"conflict #{conflict.pk} was resolved by someone else meanwhile")
    conflict.refresh_from_db()
    conflict_resolution_audit(conflict=conflict, actor=conflict.resolved_by, before=before, after=after)
    logger.info("conflict %s resolved: %s by %s", conflict.pk, resolution, getattr(user, "pk", None))
    return conflict
