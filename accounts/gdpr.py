"""What accounts hold about a person, for the GDPR export and purge (calsync/ops/gdpr.py)."""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from accounts.models import Account


def export(email: str) -> dict[str, Any]:
    accounts = Account.objects.filter(Q(username__iexact=email) | Q(owner__email__iexact=email))
    return {
        "accounts": [
            {"id": a.pk, "name": a.name, "kind": a.kind, "url": a.url, "username": a.username} for a in accounts
        ]
    }


def purge(email: str) -> dict[str, Any]:
    # A queryset update: save() would copy the address into a new audit event.
    return {"accounts": Account.objects.filter(username__iexact=email).update(username="")}
