"""GDPR: export and purge everything calsync holds about one person, by e-mail address.

Other apps take part through ``GDPR_SOURCES``: a module with ``export(email) -> dict`` and
``purge(email) -> int``. A source that is not installed is reported, never fatal.
"""

from __future__ import annotations

import importlib
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Q, TextField
from django.db.models.functions import Cast
from django.utils.crypto import salted_hmac

from accounts.models import Account
from jobs.audit import audit_record
from jobs.models import AuditEvent, Conflict
from jobs.timesheets.models import AgentMapping

GDPR_SOURCES: dict[str, str] = {"booking": "booking.gdpr"}


def _load(path: str):
    try:
        return importlib.import_module(path)
    except ModuleNotFoundError as exc:
        if exc.name and path.startswith(exc.name):
            return None
        raise


def _mentions(email: str):
    return AuditEvent.objects.annotate(
        before_text=Cast("before", TextField()), after_text=Cast("after", TextField())
    ).filter(Q(summary__icontains=email) | Q(before_text__icontains=email) | Q(after_text__icontains=email))


def _conflicts(email: str):
    return Conflict.objects.filter(Q(source_data__icontains=email) | Q(dest_data__icontains=email))


def person_ref(email: str) -> str:
    """How the audit trail names a purged person without keeping the address.

    A keyed HMAC (the server's SECRET_KEY, salted for this one use): a plain hash of an e-mail
    address is reversed by hashing a list of addresses, so it would keep the person named.
    The same person still gets the same reference, so repeated requests can be told apart.
    """
    digest = salted_hmac("calsync.gdpr.person_ref", email.strip().lower(), algorithm="sha256").hexdigest()
    return "hmac-sha256:" + digest[:32]


def gdpr_export(*, email: str) -> dict[str, Any]:
    users = get_user_model().objects.filter(email__iexact=email)
    agents = AgentMapping.objects.filter(email__iexact=email)
    data: dict[str, Any] = {
        "email": email,
        "users": [{"id": u.pk, "username": u.username, "email": u.email, "date_joined": u.date_joined} for u in users],
        "accounts": [
            {"id": a.pk, "name": a.name, "kind": a.kind, "url": a.url, "username": a.username}
            for a in Account.objects.filter(Q(username__iexact=email) | Q(owner__email__iexact=email))
        ],
        "agent_mappings": [
            {"job": m.job_id, "zammad_user_id": m.zammad_user_id, "kimai_user": m.kimai_user, "timezone": m.timezone}
            for m in agents
        ],
        "time_entry_conflicts": [
            {"id": c.pk, "job": c.job_id, "reason": c.reason, "source_data": c.source_data, "dest_data": c.dest_data}
            for c in _conflicts(email)
        ],
        "audit_events": [
            {
                "id": e.pk,
                "at": e.created_at,
                "action": e.action,
                "object": f"{e.object_type}:{e.object_id}",
                "summary": e.summary,
                "before": e.before,
                "after": e.after,
            }
            for e in _mentions(email)
        ],
        "sources": {},
    }
    for name, path in GDPR_SOURCES.items():
        module = _load(path)
        missing = {"note": f"{path} is not installed: nothing exported"}
        data["sources"][name] = module.export(email) if module else missing
    return data


def gdpr_purge(*, email: str, actor=None) -> dict[str, Any]:
    # Queryset updates on purpose: a save() would put the address into a new audit event.
    counts: dict[str, Any] = {
        "agent_mappings": AgentMapping.objects.filter(email__iexact=email).update(email=""),
        "accounts": Account.objects.filter(username__iexact=email).update(username=""),
        "time_entry_conflicts": _conflicts(email).delete()[0],
    }
    mentioned = list(_mentions(email).values_list("pk", flat=True))
    counts["audit_events"] = AuditEvent.objects.filter(pk__in=mentioned).update(
        summary="(purged)", before=None, after=None
    )
    for name, path in GDPR_SOURCES.items():
        module = _load(path)
        counts[name] = module.purge(email) if module else f"{path} is not installed"
    audit_record(action="gdpr.purge", object_type="person", object_id=person_ref(email), after=counts, actor=actor)
    return counts
