"""GDPR: export and purge everything calsync holds about one person, by e-mail address.

Users and the audit trail are handled here; every app adds what it holds about people by calling
``gdpr_source_register`` from its ``AppConfig.ready()`` (this module imports no app). An app that
is not installed registers nothing, so it is simply absent from the export.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Q, TextField
from django.db.models.functions import Cast
from django.utils.crypto import salted_hmac

from calsync.ops.audit import audit_record
from calsync.ops.models import AuditEvent


@dataclass(frozen=True)
class GdprSource:
    """One app's contribution. ``nested``: its export goes under ``sources[name]`` and its purge
    result under ``name``; otherwise both return dicts whose keys join the top level."""

    export: Callable[[str], Any]
    purge: Callable[[str], Any]
    nested: bool = True


GDPR_SOURCES: dict[str, GdprSource] = {}


def gdpr_source_register(
    name: str, *, export: Callable[[str], Any], purge: Callable[[str], Any], nested: bool = True
) -> None:
    GDPR_SOURCES[name] = GdprSource(export=export, purge=purge, nested=nested)


def _mentions(email: str):
    return AuditEvent.objects.annotate(
        before_text=Cast("before", TextField()), after_text=Cast("after", TextField())
    ).filter(Q(summary__icontains=email) | Q(before_text__icontains=email) | Q(after_text__icontains=email))


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
    data: dict[str, Any] = {
        "email": email,
        "users": [{"id": u.pk, "username": u.username, "email": u.email, "date_joined": u.date_joined} for u in users],
    }
    for source in GDPR_SOURCES.values():
        if not source.nested:
            data.update(source.export(email))
    data["audit_events"] = [
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
    ]
    data["sources"] = {name: source.export(email) for name, source in GDPR_SOURCES.items() if source.nested}
    return data


def gdpr_purge(*, email: str, actor=None) -> dict[str, Any]:
    # Queryset updates on purpose: a save() would put the address into a new audit event.
    counts: dict[str, Any] = {}
    for source in GDPR_SOURCES.values():
        if not source.nested:
            counts.update(source.purge(email))
    mentioned = list(_mentions(email).values_list("pk", flat=True))
    counts["audit_events"] = AuditEvent.objects.filter(pk__in=mentioned).update(
        summary="(purged)", before=None, after=None
    )
    for name, source in GDPR_SOURCES.items():
        if source.nested:
            counts[name] = source.purge(email)
    audit_record(action="gdpr.purge", object_type="person", object_id=person_ref(email), after=counts, actor=actor)
    return counts
