"""What bulk migrations hold about a person, for the GDPR export and purge (calsync/ops/gdpr.py).

A migration names its users by their user names on the two servers, which are often e-mail
addresses; the owner's own migrations are listed by name. No password is ever exported.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from jobs.bulk.models import BulkMigration, MigrationUser


def _named(email: str) -> Q:
    return Q(source_username__iexact=email) | Q(destination_username__iexact=email)


def export(email: str) -> dict[str, Any]:
    owned = BulkMigration.objects.filter(owner__email__iexact=email)
    users = MigrationUser.objects.filter(_named(email)).select_related("migration")
    migrations = [
        {"id": m.pk, "name": m.name, "source_url": m.source_url, "destination_url": m.destination_url} for m in owned
    ]
    named = [
        {"id": u.pk, "migration": u.migration.name, "source_user": u.source_username,
         "destination_user": u.destination_username, "plan": u.plan}
        for u in users
    ]  # fmt: skip
    return {"migrations": migrations, "users": named}


def purge(email: str) -> int:
    """The person's user names become a placeholder (unique per row, as the migration needs)."""
    purged = 0
    for member in MigrationUser.objects.filter(_named(email)):
        changes = {
            name: f"(purged #{member.pk})"
            for name in ("source_username", "destination_username")
            if getattr(member, name).lower() == email.lower()
        }
        # A queryset update: save() would copy the address into a new audit event.
        purged += MigrationUser.objects.filter(pk=member.pk).update(**changes)
    return purged
