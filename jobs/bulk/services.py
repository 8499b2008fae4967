"""Writes on bulk migrations: create, add users from a CSV, start, retry, dry-run, schedule.

Every user row is created in its own transaction (both accounts and the job, or nothing), so a
bad row never blocks the others and nothing is ever half-created. Passwords go from the parsed
upload straight into the accounts' encrypted column; the file itself is never stored, and no
message, log line or response carries a password.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from accounts.connectors.base import ConnectorError
from accounts.models import Account
from accounts.services import AccountInUse, account_address_errors, account_create, account_delete, redact
from calsync.lib.errors import StateConflict
from calsync.queue import enqueue
from jobs.bulk.csvrows import RowError, UserRow, parse_users
from jobs.bulk.models import BulkMigration, MigrationUser
from jobs.engines.dry_run import sync_job_dry_run
from jobs.models import OwedItem, SyncRun
from jobs.reconcile.plan import EmptySideGuard
from jobs.runs import RunStateError, active_run, sync_job_start
from jobs.schedules import sync_job_set_schedule
from jobs.services import sync_job_create, sync_job_delete

logger = logging.getLogger(__name__)

MIGRATION_FIELDS = (
    "name", "source_url", "source_verify_tls", "source_admin_username", "source_admin_password",
    "source_principal_template", "destination_url", "destination_verify_tls", "destination_admin_username",
    "destination_admin_password", "destination_principal_template", "source_authorize_as",
    "destination_authorize_as", "mode", "conflict_policy", "sync_calendars",
    "sync_contacts", "components", "create_collections",
)  # fmt: skip
SIDES = ("source", "destination")


def migration_errors(migration: BulkMigration) -> dict[str, str]:
    """What is wrong with an unsaved migration, per field: the admin form and the API say the same."""
    owner = migration.owner
    errors: dict[str, str] = {}
    for side in SIDES:
        url, template = getattr(migration, f"{side}_url"), getattr(migration, f"{side}_principal_template")
        if migration.acts_for_users(side) and "{user}" not in template:
            errors[f"{side}_principal_template"] = "an admin login needs the users' principal URL, with {user}"
        if not migration.acts_for_users(side) and getattr(migration, f"{side}_authorize_as"):
            errors[f"{side}_authorize_as"] = "proxy authorisation needs the admin's user name and password"
        if not migration.acts_for_users(side) and (template or getattr(migration, f"{side}_admin_password")):
            errors[f"{side}_admin_username"] = "the admin password and principal template need the admin's user name"
        refused = account_address_errors(owner=owner, url=url, principal_url=template.replace("{user}", "user"))
        errors.update({f"{side}_{'url' if name == 'url' else 'principal_template'}": v for name, v in refused.items()})
    try:
        migration.full_clean(exclude=list(errors), validate_constraints=False)
    except ValidationError as exc:
        errors.update({name: " ".join(messages) for name, messages in exc.message_dict.items()})
    if BulkMigration.objects.filter(owner=owner, name=migration.name).exclude(pk=migration.pk).exists():
        errors["name"] = "A migration with this name already exists."
    return errors


@sensitive_variables("fields")
def migration_create(*, owner: Any, **fields: Any) -> BulkMigration:
    migration = BulkMigration(
        owner=owner, **{name: value for name, value in fields.items() if name in MIGRATION_FIELDS}
    )
    migration_save(migration=migration)
    logger.info("bulk migration %s created (owner %s)", migration.pk, owner.pk)
    return migration


def migration_set_admin_passwords(*, migration: BulkMigration, source: str = "", destination: str = "") -> None:
    """Replace the stored admin passwords that are given; a blank one keeps what is stored."""
    changed = {
        name: value
        for name, value in (("source_admin_password", source), ("destination_admin_password", destination))
        if value
    }
    for name, value in changed.items():
        setattr(migration, name, value)
    if changed:
        migration.save(update_fields=list(changed))


def migration_save(*, migration: BulkMigration) -> BulkMigration:
    """Validate and save a migration whose fields are set (the admin's form sets them)."""
    errors = migration_errors(migration)
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            migration.save()
    except IntegrityError:
        raise ValidationError({"name": "A migration with this name already exists."}) from None
    return migration


# --- users -------------------------------------------------------------------------------------


@dataclass
class ImportResult:
    created: list[MigrationUser] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": len(self.created),
            "users": [{"id": u.pk, "row": u.row, "source_user": u.source_username} for u in self.created],
            "errors": [error.as_dict() for error in self.errors],
        }


def _name(*parts: str, limit: int) -> str:
    """An account or job name within ``limit``; a long one keeps a digest so two stay distinct."""
    name = " ".join(parts)
    if len(name) <= limit:
        return name
    return name[: limit - 9] + "~" + hashlib.sha256(name.encode()).hexdigest()[:8]


@sensitive_variables("data")
def migration_add_users(*, migration: BulkMigration, data: bytes | str) -> ImportResult:
    """Parse an uploaded user list in memory and create each valid row's accounts and job.

    Raises ``csvrows.UnreadableFile`` when the upload is not a user list at all.
    """
    known = (
        set(migration.users.values_list("source_username", flat=True)),
        set(migration.users.values_list("destination_username", flat=True)),
    )
    passwords = (not migration.acts_for_users("source"), not migration.acts_for_users("destination"))
    parsed = parse_users(data, passwords=passwords, known=known)
    result = ImportResult(errors=list(parsed.errors))
    for row in parsed.rows:
        try:
            result.created.append(_create_user(migration, row))
        except _RowFailed as failed:
            result.errors.append(failed.error)
    result.errors.sort(key=lambda error: error.row)
    logger.info(
        "bulk migration %s: %s users added, %s rows refused", migration.pk, len(result.created), len(result.errors)
    )
    return result


class _RowFailed(Exception):
    def __init__(self, error: RowError) -> None:
        self.error = error


def _side_credentials(migration: BulkMigration, side: str, user: str, password: str) -> dict[str, Any]:
    common = {"url": getattr(migration, f"{side}_url"), "verify_tls": getattr(migration, f"{side}_verify_tls")}
    if not migration.acts_for_users(side):
        return {**common, "username": user, "password": password}
    template = getattr(migration, f"{side}_principal_template")
    return {
        **common,
        "username": getattr(migration, f"{side}_admin_username"),
        "password": getattr(migration, f"{side}_admin_password"),
        "principal_url": template.replace("{user}", quote(user, safe="@")),
        "authorize_as": user if getattr(migration, f"{side}_authorize_as") else "",
    }


def _messages(exc: ValidationError, secrets: tuple[str, ...]) -> str:
    text = "; ".join(str(message) for message in exc.messages)
    for secret in secrets:
        text = redact(text, secret=secret)
    return text


@sensitive_variables("row", "source", "destination")
def _create_user(migration: BulkMigration, row: UserRow) -> MigrationUser:
    source = _side_credentials(migration, "source", row.source_user, row.source_password)
    destination = _side_credentials(migration, "destination", row.destination_user, row.destination_password)
    secrets = (source["password"], destination["password"])
    owner = migration.owner
    column = "source_user"
    try:
        with transaction.atomic():
            source_account = account_create(
                owner=owner, kind="caldav", name=_name(migration.name, row.source_user, "(source)", limit=100), **source
            )
            column = "destination_user"
            destination_account = account_create(
                owner=owner,
                kind="caldav",
                name=_name(migration.name, row.destination_user, "(destination)", limit=100),
                **destination,
            )
            column = ""
            job = sync_job_create(
                owner=owner,
                name=_name(migration.name, f"{row.source_user} → {row.destination_user}", limit=200),
                source=source_account,
                destination=destination_account,
                mode=migration.mode,
                conflict_policy=migration.conflict_policy,
                sync_calendars=migration.sync_calendars,
                sync_contacts=migration.sync_contacts,
                components=list(migration.components),
                create_collections=migration.create_collections,
            )
            return MigrationUser.objects.create(
                migration=migration,
                row=row.row,
                source_username=row.source_user,
                destination_username=row.destination_user,
                source_account=source_account,
                destination_account=destination_account,
                job=job,
            )
    except ValidationError as exc:
        raise _RowFailed(RowError(row.row, column, _messages(exc, secrets))) from None
    except IntegrityError:
        raise _RowFailed(RowError(row.row, "", "this user is already in the migration")) from None


# --- running -----------------------------------------------------------------------------------


def _start_users(migration: BulkMigration, users: list[MigrationUser], *, user: Any, trigger: str) -> list[SyncRun]:
    runs = []
    with transaction.atomic():
        BulkMigration.objects.filter(pk=migration.pk, started_at=None).update(started_at=timezone.now())
        for member in users:
            try:
                # Sent as a turn (bulk.sync_slice) by the chooser this app registers with jobs.runs.
                run = sync_job_start(job=member.job, trigger=trigger, user=user)
            except RunStateError:
                continue  # already running or waiting for its turn
            runs.append(run)
    migration.refresh_from_db(fields=["started_at"])
    logger.info("bulk migration %s: %s runs queued", migration.pk, len(runs))
    return runs


def migration_start(
    *, migration: BulkMigration, user: Any = None, trigger: str = SyncRun.Trigger.MANUAL
) -> list[SyncRun]:
    """Queue a run for every user without one; they take turns (jobs.bulk.slicing)."""
    return _start_users(migration, list(migration.users.select_related("job")), user=user, trigger=trigger)


def migration_retry(
    *, migration: BulkMigration, user: Any = None, trigger: str = SyncRun.Trigger.MANUAL
) -> list[SyncRun]:
    """Run again every user whose job owes items, or whose last run failed or was cancelled."""
    members = list(migration.users.select_related("job"))
    owing = set(OwedItem.objects.filter(job__bulk_user__migration=migration).values_list("job_id", flat=True))
    retry = []
    for member in members:
        last = member.job.runs.first()
        unhappy = last is not None and (
            last.status in (SyncRun.Status.FAILED, SyncRun.Status.CANCELLED) or bool(last.errors)
        )
        if (member.job_id in owing or unhappy) and active_run(member.job) is None:
            retry.append(member)
    return _start_users(migration, retry, user=user, trigger=trigger)


def migration_user_dry_run(*, member: MigrationUser) -> dict[str, Any]:
    """Plan one user's job without writing anything; the totals (or the reason) are kept on the user."""
    job = member.job
    try:
        reports = sync_job_dry_run(job=job)
        counts = Counter(action.op.value for report in reports for action in report.actions)
        plan: dict[str, Any] = {"counts": dict(counts), "total": sum(counts.values())}
    except (ConnectorError, EmptySideGuard) as exc:
        message = str(exc)
        for secret in (job.source.password, job.destination.password):
            message = redact(message, secret=secret)
        plan = {"error": message}
    member.plan, member.planned_at = plan, timezone.now()
    member.save(update_fields=["plan", "planned_at"])
    return {"user": member.pk, "source_user": member.source_username, **plan}


def migration_user_dry_run_by_id(member_id: int) -> None:
    """The task's body: a user removed meanwhile has nothing to plan."""
    member = MigrationUser.objects.select_related("job__source", "job__destination").filter(pk=member_id).first()
    if member is not None:
        migration_user_dry_run(member=member)


def migration_dry_run_queue(*, migration: BulkMigration) -> int:
    """Queue one dry-run task per user (hundreds of users do not fit in a request); each stores its
    totals as it completes and the migration's status counts the users planned since now."""
    with transaction.atomic():
        migration.dry_run_at = timezone.now()
        migration.save(update_fields=["dry_run_at"])
        members = list(migration.users.values_list("pk", flat=True))
        for pk in members:
            enqueue("bulk.dry_run_user", pk)
    logger.info("bulk migration %s: dry run queued for %s users", migration.pk, len(members))
    return len(members)


def migration_dry_run(*, migration: BulkMigration) -> list[dict[str, Any]]:
    """Plan every user in this process, one after the other (the CLI); the API and admin queue it."""
    BulkMigration.objects.filter(pk=migration.pk).update(dry_run_at=timezone.now())
    members = migration.users.select_related("job__source__owner", "job__destination__owner")
    return [migration_user_dry_run(member=member) for member in members]


def migration_has_active_runs(migration: BulkMigration) -> bool:
    return SyncRun.objects.filter(job__bulk_user__migration=migration, status__in=SyncRun.ACTIVE).exists()


def migration_delete(*, migration: BulkMigration) -> None:
    """Remove the migration, its users' jobs and the accounts it created; refused while a run is active."""
    with transaction.atomic():
        members = list(migration.users.select_related("job"))
        if migration_has_active_runs(migration):
            raise StateConflict(f"migration {migration.name!r} has active runs: cancel them first")
        accounts = {pk for m in members for pk in (m.source_account_id, m.destination_account_id)}
        for member in members:
            sync_job_delete(job=member.job)  # takes the MigrationUser with it
        for account in Account.objects.filter(pk__in=accounts):
            # Something outside the migration may use it meanwhile (a job, a feed): then it stays.
            with contextlib.suppress(AccountInUse):
                account_delete(account=account)
        migration.delete()
    logger.info("bulk migration %s deleted with %s users", migration.pk, len(members))


def migration_set_schedule(*, migration: BulkMigration, interval_minutes: int | None = None, crontab: str = "") -> int:
    """Keep in step afterwards: one schedule on every job of the migration (none removes it)."""
    with transaction.atomic():
        jobs = [member.job for member in migration.users.select_related("job__schedule")]
        for job in jobs:
            sync_job_set_schedule(job=job, interval_minutes=interval_minutes, crontab=crontab)
    return len(jobs)
