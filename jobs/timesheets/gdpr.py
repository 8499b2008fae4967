"""What the time-sheet sync holds about a person (agent mappings, conflict data), for the GDPR
export and purge (calsync/ops/gdpr.py)."""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from jobs.models import Conflict
from jobs.timesheets.models import AgentMapping


def _conflicts(email: str):
    return Conflict.objects.filter(Q(source_data__icontains=email) | Q(dest_data__icontains=email))


def export(email: str) -> dict[str, Any]:
    return {
        "agent_mappings": [
            {"job": m.job_id, "zammad_user_id": m.zammad_user_id, "kimai_user": m.kimai_user, "timezone": m.timezone}
            for m in AgentMapping.objects.filter(email__iexact=email)
        ],
        "time_entry_conflicts": [
            {"id": c.pk, "job": c.job_id, "reason": c.reason, "source_data": c.source_data, "dest_data": c.dest_data}
            for c in _conflicts(email)
        ],
    }


def purge(email: str) -> dict[str, Any]:
    # Queryset updates: a save() would copy the address into a new audit event.
    return {
        "agent_mappings": AgentMapping.objects.filter(email__iexact=email).update(email=""),
        "time_entry_conflicts": _conflicts(email).delete()[0],
    }
