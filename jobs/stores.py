"""The engine's link store on the ORM: ``ItemLink`` rows, the owed-items ledger, conflicts."""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractContextManager

from django.db import transaction
from django.utils import timezone

from accounts.connectors.base import RemoteItem
from calsync.lib.items import extract_uid
from jobs.models import Conflict, ItemLink, OwedItem, SyncJob, SyncRun
from jobs.reconcile.pair import LinkRecord, OwedRecord
from jobs.reconcile.plan import Action


class OrmLinkStore:
    def __init__(self, job: SyncJob, source_collection: str, run: SyncRun | None = None) -> None:
        self.job = job
        self.source_collection = source_collection
        self.run = run

    def load(self) -> list[LinkRecord]:
        rows = ItemLink.objects.filter(job=self.job, source_collection=self.source_collection).values_list(
            "source_href", "dest_href", "dest_collection", "uid", "source_etag", "source_hash", "dest_etag",
            "dest_hash", "run_id",
        )  # fmt: skip
        run_id = self.run.pk if self.run is not None else None
        return [LinkRecord(*row[:-1], this_run=run_id is not None and row[-1] == run_id) for row in rows]

    def save(self, records: Iterable[LinkRecord]) -> None:
        records = list(records)
        now = timezone.now()
        with transaction.atomic():
            # A destination href can move to another source item (two-way re-creation); drop the
            # stale pairing first so the unique constraints hold.
            ItemLink.objects.filter(job=self.job, dest_href__in=[r.dest_href for r in records]).exclude(
                source_href__in=[r.source_href for r in records]
            ).delete()
            ItemLink.objects.bulk_create(
                [
                    ItemLink(
                        job=self.job,
                        source_collection=self.source_collection,
                        dest_collection=r.dest_collection,
                        uid=r.uid[:1000],
                        source_href=r.source_href,
                        source_etag=r.source_etag,
                        source_hash=r.source_hash,
                        dest_href=r.dest_href,
                        dest_etag=r.dest_etag,
                        dest_hash=r.dest_hash,
                        synced_at=now,
                        run=self.run if self.run is not None and self.run.pk else None,
                    )
                    for r in records
                ],
                update_conflicts=True,
                unique_fields=["job", "source_href"],
                update_fields=[
                    "dest_collection",
                    "uid",
                    "source_etag",
                    "source_hash",
                    "dest_href",
                    "dest_etag",
                    "dest_hash",
                    "synced_at",
                    "run",
                ],
            )

    def atomic(self) -> AbstractContextManager[object]:
        return transaction.atomic()

    def forget(self, source_hrefs: Iterable[str]) -> None:
        ItemLink.objects.filter(job=self.job, source_href__in=list(source_hrefs)).delete()

    # --- the ledger of owed items ---------------------------------------------------------------

    def owed(self) -> list[OwedRecord]:
        rows = OwedItem.objects.filter(job=self.job, source_collection=self.source_collection)
        return [
            OwedRecord(
                href=row.href,
                operation=row.operation,
                reason=row.reason,
                dest_href=row.dest_href,
                uid=row.uid,
                summary=row.summary,
                status=row.status,
                etag=row.etag,
                attempts=row.attempts,
                state=row.state,
            )
            for row in rows
        ]

    def owe(self, records: Iterable[OwedRecord]) -> None:
        latest = {record.href: record for record in records}
        now = timezone.now()
        run = self.run if self.run is not None and self.run.pk else None
        with transaction.atomic():
            OwedItem.objects.bulk_create(
                [
                    OwedItem(
                        job=self.job,
                        source_collection=self.source_collection,
                        href=r.href[:1000],
                        dest_href=r.dest_href[:1000],
                        uid=r.uid[:1000],
                        summary=r.summary[:300],
                        operation=r.operation,
                        reason=r.reason,
                        status=r.status,
                        etag=r.etag[:200],
                        state=r.state,
                        attempts=r.attempts,
                        first_failed_at=now,
                        last_failed_at=now,
                        run=run,
                    )
                    for r in latest.values()
                ],
                update_conflicts=True,
                unique_fields=["job", "source_collection", "href"],
                # first_failed_at stays as it was: how long an item has been owed is the point.
                update_fields=[
                    "dest_href", "uid", "summary", "operation", "reason", "status", "etag", "state", "attempts",
                    "last_failed_at", "run",
                ],
            )  # fmt: skip

    def settle(self, hrefs: Iterable[str]) -> None:
        hrefs = list(hrefs)
        for start in range(0, len(hrefs), 500):
            OwedItem.objects.filter(
                job=self.job, source_collection=self.source_collection, href__in=hrefs[start : start + 500]
            ).delete()

    def conflict(self, *, action: Action, source: RemoteItem | None, dest: RemoteItem | None, reason: str) -> None:
        link = ItemLink.objects.filter(job=self.job, source_href=action.source_href).first()
        values = {
            "run": self.run,
            "link": link,
            "source_collection": self.source_collection,
            "dest_collection": link.dest_collection if link else "",
            "source_etag": source.etag if source else "",
            "source_data": source.data.decode("utf-8", "replace") if source else "",
            "dest_etag": dest.etag if dest else "",
            "dest_data": dest.data.decode("utf-8", "replace") if dest else "",
            "reason": reason,
        }
        # One open conflict per item pair: a conflict that waits for a human is refreshed by
        # later runs, not repeated.
        Conflict.objects.update_or_create(
            job=self.job,
            source_href=action.source_href,
            dest_href=action.dest_href,
            resolution="",
            defaults=values,
            create_defaults={**values, "uid": _uid(source or dest)},
        )


def _uid(item: RemoteItem | None) -> str:
    return extract_uid(item.data)[:1000] if item else ""
