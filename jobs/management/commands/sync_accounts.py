"""python manage.py sync_accounts --source NAME --destination NAME [--dry-run] …

Runs a migration/sync in this process (no worker needed), with a progress bar and a summary;
the exit status is non-zero when the run failed or any item failed.
"""

from __future__ import annotations

import sys
from collections import Counter

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import Account
from jobs.engines import PairReport, sync_job_validate
from jobs.engines.dry_run import sync_job_dry_run
from jobs.models import SyncJob, SyncRun
from jobs.progress import PlanOnlyProgress, RunProgress
from jobs.runner import sync_run_execute
from jobs.runs import RunStateError, sync_job_start
from jobs.services import sync_job_create, sync_job_update


def _message(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return "; ".join(f"{field}: {' '.join(messages)}" for field, messages in exc.message_dict.items())
    return " ".join(exc.messages)


class BarProgress(RunProgress):
    """RunProgress that also draws a progress bar on every checkpoint."""

    def checkpoint(self) -> bool:
        done, total = self.counters.get("done", 0), max(self.total, 1)
        width = 30
        filled = int(width * min(done / total, 1))
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{self.total} items")
        sys.stderr.flush()
        return super().checkpoint()


class DryBarProgress(BarProgress, PlanOnlyProgress):
    """The bar, over a dry run's progress that writes nothing."""


class Command(BaseCommand):
    help = "Copy or sync every calendar, task list and address book from one account to another."
    # Only calsync's own configuration checks: the URL checks import every view and serializer,
    # half of this command's start-up for nothing it uses (the web process runs them all).
    requires_system_checks = ["calsync"]

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--source", required=True, help="name of the source account")
        parser.add_argument("--destination", required=True, help="name of the destination account")
        parser.add_argument("--dry-run", action="store_true", help="print the plan, write nothing")
        parser.add_argument("--no-calendars", action="store_true", help="skip calendars and task lists")
        parser.add_argument("--no-contacts", action="store_true", help="skip address books")
        parser.add_argument("--create-collections", action="store_true", help="create missing collections")
        parser.add_argument("--mode", choices=[m.value for m in SyncJob.Mode], default=SyncJob.Mode.COPY)
        parser.add_argument("--confirm-empty", action="store_true", help="allow wiping when a side lists nothing")

    def handle(self, *args, **options) -> None:
        source = self._account(options["source"])
        destination = self._account(options["destination"])
        settings = {
            "source": source,
            "destination": destination,
            "mode": options["mode"],
            "sync_calendars": not options["no_calendars"],
            "sync_contacts": not options["no_contacts"],
            "create_collections": options["create_collections"],
        }
        name = f"{source.name} → {destination.name}"
        if options["dry_run"]:
            self._dry_run(owner=source.owner, name=name, settings=settings)
            return
        job = SyncJob.objects.filter(owner=source.owner, name=name).first()
        try:
            if job is None:
                job = sync_job_create(owner=source.owner, name=name, **settings)
            else:
                job = sync_job_update(job=job, **settings)
        except ValidationError as exc:
            raise CommandError(_message(exc)) from None
        try:
            run = sync_job_start(
                job=job, trigger=SyncRun.Trigger.CLI, confirm_empty=options["confirm_empty"], enqueue=False
            )
        except RunStateError as exc:
            raise CommandError(str(exc)) from None
        run = sync_run_execute(run.pk, progress_class=BarProgress)
        self.stderr.write("")
        self._print_summary(run)
        if run.status != SyncRun.Status.COMPLETED or run.errors:
            sys.exit(1)

    def _dry_run(self, *, owner, name: str, settings: dict) -> None:
        """Plan with the job a real run would use, and leave the database as it was: an existing
        job is planned with its links but with this command's options in memory only; the dry-run
        service deletes a job it had to make up for the plan."""
        job = SyncJob.objects.filter(owner=owner, name=name).first() or SyncJob(owner=owner, name=name)
        for field, value in settings.items():
            setattr(job, field, value)
        try:
            sync_job_validate(job=job)
        except ValidationError as exc:
            raise CommandError(_message(exc)) from None
        self._print_plan(sync_job_dry_run(job=job, progress_class=DryBarProgress))

    def _account(self, name: str) -> Account:
        accounts = list(Account.objects.filter(name=name))
        if not accounts:
            known = ", ".join(Account.objects.values_list("name", flat=True)[:20]) or "none"
            raise CommandError(f"no account named {name!r} (known: {known})")
        if len(accounts) > 1:
            raise CommandError(f"{len(accounts)} accounts are named {name!r}; rename one of them")
        return accounts[0]

    def _print_plan(self, reports: list[PairReport]) -> None:
        self.stderr.write("")
        rows = [("source", "destination", "create", "update", "delete", "other")]
        for report in reports:
            ops = Counter(action.op.value.split("-")[0] for action in report.actions)
            other = sum(ops.values()) - ops["create"] - ops["update"] - ops["delete"]
            rows.append((report.source, report.destination, ops["create"], ops["update"], ops["delete"], other))
        self._table(rows)
        self.stdout.write("Dry run: nothing was written.")

    def _print_summary(self, run: SyncRun) -> None:
        self._table(
            [
                ("status", "created", "updated", "deleted", "unchanged", "conflicts", "errors"),
                (run.status, run.created, run.updated, run.deleted, run.unchanged, run.conflicts, run.errors),
            ]
        )
        if run.error:
            self.stdout.write(self.style.ERROR(run.error))
        for line in run.logs.filter(level="error")[:20]:
            self.stdout.write(self.style.WARNING(f"{line.item}: {line.message}"))

    def _table(self, rows: list[tuple]) -> None:
        widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
        for number, row in enumerate(rows):
            self.stdout.write("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)))
            if number == 0:
                self.stdout.write("  ".join("-" * width for width in widths))
