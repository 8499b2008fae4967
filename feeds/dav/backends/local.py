"""Calendars users create: objects stored byte for byte, a per-calendar sequence for sync tokens."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q, Sum

from calsync.lib.davxml import caldav, dav, node
from feeds.dav.backends.base import (
    Changes,
    InvalidSyncToken,
    Precondition,
    PutResult,
    StoredObject,
    check_precondition,
)
from feeds.dav.errors import DavError, forbidden, not_found
from feeds.dav.models import Calendar, CalendarObject, Change
from feeds.dav.objects import CheckedObject

TOKEN_PREFIX = "http://calsync.invalid/ns/sync/"  # noqa: S105 (a sync token, not a secret)
EDITABLE = ("display_name", "description", "color", "order", "time_zone")


def etag_of(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


class LocalCalendar:
    writable = True
    can_add = True

    def __init__(self, row: Calendar, *, home_href: str) -> None:
        self.row = row
        self.slug = row.slug
        self.home_href = home_href
        self.display_name, self.description, self.color = row.display_name, row.description, row.color
        self.order, self.time_zone, self.components = row.order, row.time_zone, list(row.components)
        self.dead_properties: dict[str, str] = dict(row.dead_properties)

    def sync_token(self) -> str:
        return f"{TOKEN_PREFIX}{self.row.pk}-{self.row.seq}"

    # --- reading ---------------------------------------------------------------------------------

    def _rows(self, with_data: bool):
        fields = ["name", "etag", "component", "size", "modified_at", *(["data"] if with_data else [])]
        return CalendarObject.objects.filter(calendar=self.row).values_list(*fields)

    @staticmethod
    def _stored(row: tuple) -> StoredObject:
        data = bytes(row[5]) if len(row) > 5 else None
        return StoredObject(row[0], row[1], row[2], data, size=row[3], modified=row[4])

    def objects(self, *, with_data: bool) -> Iterable[StoredObject]:
        return (self._stored(row) for row in self._rows(with_data).order_by("name").iterator(chunk_size=500))

    def objects_named(self, names: list[str], *, with_data: bool) -> dict[str, StoredObject]:
        found: dict[str, StoredObject] = {}
        for start in range(0, len(names), 500):  # SQLite's limit on query parameters
            for row in self._rows(with_data).filter(name__in=names[start : start + 500]):
                found[row[0]] = self._stored(row)
        return found

    def candidates(self, component: str | None, start: datetime | None, end: datetime | None) -> Iterable[StoredObject]:
        rows = CalendarObject.objects.filter(calendar=self.row).values_list(
            "name", "etag", "component", "data", "first_start", "last_end", "size", "modified_at"
        )
        if component:
            rows = rows.filter(component=component)
        if end is not None:
            rows = rows.filter(Q(first_start__isnull=True) | Q(first_start__lt=end))
        if start is not None:
            rows = rows.filter(Q(last_end__isnull=True) | Q(last_end__gt=start))
        return (
            StoredObject(name, etag, kind, bytes(data), (low, high), size, modified)
            for name, etag, kind, data, low, high, size, modified in rows.order_by("name").iterator(chunk_size=500)
        )

    def changes_since(self, token: str, *, with_data: bool) -> Changes:
        current = Calendar.objects.filter(pk=self.row.pk).values_list("seq", flat=True).first() or 0
        new_token = f"{TOKEN_PREFIX}{self.row.pk}-{current}"
        if not token:
            return Changes(new_token, list(self.objects(with_data=with_data)))
        since = self._parse_token(token, current)
        changes = list(Change.objects.filter(calendar=self.row, seq__gt=since).values_list("name", "deleted"))
        alive = self.objects_named([name for name, deleted in changes if not deleted], with_data=with_data)
        deleted = [name for name, gone in changes if gone or name not in alive]
        return Changes(new_token, sorted(alive.values(), key=lambda o: o.name), sorted(deleted))

    def _parse_token(self, token: str, current: int) -> int:
        pk, _, seq = token.removeprefix(TOKEN_PREFIX).partition("-")
        if not token.startswith(TOKEN_PREFIX) or pk != str(self.row.pk) or not seq.isdigit() or int(seq) > current:
            raise InvalidSyncToken(token)
        return int(seq)

    # --- writing ---------------------------------------------------------------------------------

    def _lock(self) -> int:
        """The next sequence number; the row lock orders writers of one calendar, so order = commit order."""
        return Calendar.objects.select_for_update().values_list("seq", flat=True).get(pk=self.row.pk) + 1

    def _commit(self, name: str, seq: int, *, deleted: bool, growth: int) -> None:
        Calendar.objects.filter(pk=self.row.pk).update(seq=seq, size=F("size") + growth)
        self.row.seq = seq
        Change.objects.bulk_create(
            [Change(calendar=self.row, name=name, seq=seq, deleted=deleted)],
            update_conflicts=True,
            unique_fields=["calendar", "name"],
            update_fields=["seq", "deleted"],
        )

    def _check_quota(self, growth: int) -> None:
        quota = settings.CALSYNC_DAV_QUOTA_BYTES
        if growth <= 0 or not quota:
            return
        used = Calendar.objects.filter(owner_id=self.row.owner_id).aggregate(used=Sum("size"))["used"] or 0
        if used + growth > quota:
            raise DavError(
                507,
                f"Your calendars are full ({quota} bytes); delete something first.",
                condition=dav("quota-not-exceeded"),
            )

    def put(self, name: str, data: bytes, checked: CheckedObject, when: Precondition) -> PutResult:
        etag = etag_of(data)
        with transaction.atomic():
            seq = self._lock()
            existing = (
                CalendarObject.objects.filter(calendar=self.row, name=name).values_list("pk", "etag", "size").first()
            )
            check_precondition(when, existing[1] if existing else None)
            growth = len(data) - (existing[2] if existing else 0)
            self._check_quota(growth)
            clash = (
                CalendarObject.objects.filter(calendar=self.row, uid=checked.uid)
                .exclude(name=name)
                .values_list("name", flat=True)
                .first()
            )
            if clash is not None:
                raise forbidden(
                    "Another object in this calendar has the same UID.",
                    caldav("no-uid-conflict"),
                    node(dav("href"), text=self.home_href + self.slug + "/" + clash),
                )
            values = {
                "uid": checked.uid,
                "etag": etag,
                "component": checked.component,
                "data": data,
                "first_start": checked.first_start,
                "last_end": checked.last_end,
                "size": len(data),
            }
            try:
                with transaction.atomic():
                    if existing:
                        obj = CalendarObject(pk=existing[0], calendar=self.row, name=name, **values)
                        obj.save(force_update=True)
                    else:
                        CalendarObject.objects.create(calendar=self.row, name=name, **values)
            except IntegrityError:
                raise DavError(409, "Another client wrote this object at the same moment; try again.") from None
            self._commit(name, seq, deleted=False, growth=growth)
        return PutResult(etag, created=existing is None, stored_as_sent=True)

    def delete_object(self, name: str, when: Precondition) -> None:
        with transaction.atomic():
            seq = self._lock()
            existing = (
                CalendarObject.objects.filter(calendar=self.row, name=name).values_list("pk", "etag", "size").first()
            )
            if existing is None:
                raise not_found()
            check_precondition(when, existing[1])
            CalendarObject.objects.filter(pk=existing[0]).delete()
            self._commit(name, seq, deleted=True, growth=-existing[2])

    def set_properties(self, values: dict[str, str | int | list[str]], dead: dict[str, str | None]) -> None:
        """``dead``: properties clients invented, kept as text; ``None`` removes one."""
        for key, value in values.items():
            setattr(self.row, key, value)
            setattr(self, key, value)
        for tag, text in dead.items():
            if text is None:
                self.dead_properties.pop(tag, None)
            else:
                self.dead_properties[tag] = text
        self.row.dead_properties = self.dead_properties
        self.row.save(update_fields=[*values, "dead_properties"])

    def delete(self) -> None:
        self.row.delete()
