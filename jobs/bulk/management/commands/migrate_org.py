"""python manage.py migrate_org create|users|dry-run|start|retry|status|report|schedule …

A whole organisation's migration from the command line, through the same services as the admin
and the API. Passwords never go on the command line: users' come in the CSV file, admin logins'
from the environment variables CALSYNC_SOURCE_ADMIN_PASSWORD and CALSYNC_DESTINATION_ADMIN_PASSWORD.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from jobs.bulk.csvrows import UnreadableFile
from jobs.bulk.models import BulkMigration
from jobs.bulk.selectors import STATES, migration_report_csv, migration_status
from jobs.bulk.services import (
    migration_add_users,
    migration_create,
    migration_dry_run,
    migration_retry,
    migration_set_schedule,
    migration_start,
)
from jobs.models import SyncJob, SyncRun


class Command(BaseCommand):
    help = "Migrate a whole organisation's calendars and address books (a bulk migration)."
    requires_system_checks = ["calsync"]

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="action", required=True)
        create = commands.add_parser("create", help="create a migration (and add users with --csv)")
        create.add_argument("--name", required=True)
        create.add_argument("--owner", required=True, help="user name of the owner")
        create.add_argument("--source-url", required=True)
        create.add_argument("--destination-url", required=True)
        for side in ("source", "destination"):
            create.add_argument(f"--{side}-admin", default="", help=f"admin login acting for the {side}'s users")
            create.add_argument(
                f"--{side}-principal-template", default="", help="e.g. https://host/dav/principals/user/{user}/"
            )
            create.add_argument(f"--{side}-no-verify-tls", action="store_true")
            create.add_argument(
                f"--{side}-authorize-as",
                action="store_true",
                help="the admin login sends Authorize-As: <user> (Cyrus proxy authorisation)",
            )
        create.add_argument("--mode", choices=[m.value for m in SyncJob.Mode], default=SyncJob.Mode.COPY)
        create.add_argument("--conflict-policy", choices=[p.value for p in SyncJob.ConflictPolicy], default="source")
        create.add_argument("--csv", type=Path, help="the user list")
        users = commands.add_parser("users", help="add users from a CSV file")
        users.add_argument("migration", type=int)
        users.add_argument("--csv", type=Path, required=True)
        for name in ("dry-run", "start", "retry", "status", "report"):
            sub = commands.add_parser(name)
            sub.add_argument("migration", type=int)
            if name == "report":
                sub.add_argument("--output", type=Path, help="write the CSV here (default: standard output)")
        schedule = commands.add_parser("schedule", help="keep in step: one schedule on all its jobs")
        schedule.add_argument("migration", type=int)
        schedule.add_argument("--every", type=int, help="minutes; 0 removes the schedule")
        schedule.add_argument("--crontab", default="")

    def handle(self, *args, **options) -> None:
        action = options["action"]
        if action == "create":
            migration = self._create(options)
            self.stdout.write(f"migration {migration.pk} created: {migration.name}")
            if options["csv"]:
                self._users(migration, options["csv"])
            return
        found = BulkMigration.objects.filter(pk=options["migration"]).first()
        if found is None:
            raise CommandError(f"no migration {options['migration']}")
        migration = found
        if action == "users":
            self._users(migration, options["csv"])
        elif action == "dry-run":
            self._dry_run(migration)
        elif action in ("start", "retry"):
            self._start(migration, retry=action == "retry")
        elif action == "status":
            self._status(migration)
        elif action == "report":
            self._report(migration, options["output"])
        elif action == "schedule":
            self._schedule(migration, every=options["every"], crontab=options["crontab"])

    def _dry_run(self, migration: BulkMigration) -> None:
        for plan in migration_dry_run(migration=migration):
            figures = plan.get("error") or json.dumps(plan.get("counts", {}), sort_keys=True)
            self.stdout.write(f"{plan['source_user']}: {plan.get('total', '-')} {figures}")

    def _start(self, migration: BulkMigration, *, retry: bool) -> None:
        start = migration_retry if retry else migration_start
        runs = start(migration=migration, trigger=SyncRun.Trigger.CLI)
        self.stdout.write(f"{len(runs)} runs queued; the workers take them in turns")

    def _status(self, migration: BulkMigration) -> None:
        status = migration_status(migration)
        self.stdout.write(" ".join(f"{state}={status[state]}" for state in ("users", *STATES)))
        seconds = status["seconds_left"]
        left = "unknown" if seconds is None else f"{seconds} s"
        self.stdout.write(f"items moved {status['items_moved']}, left {status['items_left']}, time left {left}")

    def _report(self, migration: BulkMigration, output: Path | None) -> None:
        report = migration_report_csv(migration)
        if output:
            output.write_text(report, encoding="utf-8")
        else:
            self.stdout.write(report, ending="")

    def _schedule(self, migration: BulkMigration, *, every: int | None, crontab: str) -> None:
        try:
            jobs = migration_set_schedule(migration=migration, interval_minutes=every or None, crontab=crontab)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        self.stdout.write(f"schedule set on {jobs} jobs")

    def _create(self, options: dict) -> BulkMigration:
        owner = get_user_model().objects.filter(username=options["owner"]).first()
        if owner is None:
            raise CommandError(f"no user {options['owner']!r}")
        fields = {
            "name": options["name"],
            "source_url": options["source_url"],
            "destination_url": options["destination_url"],
            "mode": options["mode"],
            "conflict_policy": options["conflict_policy"],
        }
        for side in ("source", "destination"):
            fields[f"{side}_admin_username"] = options[f"{side}_admin"]
            fields[f"{side}_principal_template"] = options[f"{side}_principal_template"]
            fields[f"{side}_verify_tls"] = not options[f"{side}_no_verify_tls"]
            fields[f"{side}_authorize_as"] = options[f"{side}_authorize_as"]
            if options[f"{side}_admin"]:
                fields[f"{side}_admin_password"] = os.environ.get(f"CALSYNC_{side.upper()}_ADMIN_PASSWORD", "")
        try:
            return migration_create(owner=owner, **fields)
        except ValidationError as exc:
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from None

    def _users(self, migration: BulkMigration, path: Path) -> None:
        try:
            result = migration_add_users(migration=migration, data=path.read_bytes())
        except (OSError, UnreadableFile) as exc:
            raise CommandError(f"{path}: {exc}") from None
        self.stdout.write(f"{len(result.created)} users added, {len(result.errors)} rows refused")
        for error in result.errors:
            column = f" {error.column}" if error.column else ""
            self.stderr.write(f"row {error.row}{column}: {error.reason}")
