"""Read both sides for one run and turn Zammad records into what Kimai should hold.

Listing is by pages only: Zammad's time accountings 500 at a time (or per ticket for a webhook
run), tickets 200 per search, Kimai timesheets 500 a page (or one ``term`` search per ticket).
Mappings come from the job's rows; a missing one becomes an ``Unresolved`` with a reason code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from accounts.connectors.kimai import KimaiConnector, parse_kimai_time
from accounts.connectors.zammad import ZammadConnector, parse_zammad_time
from jobs.models import SyncJob
from jobs.timesheets.entries import Desired, KimaiEntry, TimeEntry, Unresolved, ticket_number_in
from jobs.timesheets.models import ActivityMapping, AgentMapping, ProjectMapping, TimesheetSettings
from jobs.timesheets.plan import Reason


@dataclass
class Sides:
    wanted: list[Desired | Unresolved] = field(default_factory=list)
    entries: dict[str, TimeEntry] = field(default_factory=dict)
    raw_source: dict[str, dict] = field(default_factory=dict)
    known_source_ids: set[str] = field(default_factory=set)
    kimai: list[KimaiEntry] = field(default_factory=list)
    raw_kimai: dict[int, dict] = field(default_factory=dict)


def kimai_entry(record: dict) -> KimaiEntry:
    return KimaiEntry(
        id=int(record["id"]),
        begin=parse_kimai_time(record["begin"]),
        end=parse_kimai_time(record.get("end")),
        duration_seconds=int(record.get("duration") or 0),
        description=record.get("description") or "",
        project=int(record["project"]),
        activity=int(record["activity"]),
        user=int(record["user"]),
        exported=bool(record.get("exported")),
    )


class Mappings:
    """The job's mapping rows as dicts, plus the Kimai users' zones for agents without their own."""

    def __init__(self, job: SyncJob, kimai: KimaiConnector, log) -> None:
        self.activities = {m.zammad_type_id: m.kimai_activity for m in ActivityMapping.objects.filter(job=job)}
        self.projects = {m.organisation: m.kimai_project for m in ProjectMapping.objects.filter(job=job)}
        self.agents = {m.zammad_user_id: m for m in AgentMapping.objects.filter(job=job)}
        self.user_zones: dict[int, str] = {}
        if any(not m.timezone for m in self.agents.values()):
            users = kimai.users()
            if users is None:
                log("warning", "the Kimai token may not list users; agents without a time zone are conflicts")
            self.user_zones = {int(u["id"]): u.get("timezone") or "" for u in users or []}

    def zone(self, agent: AgentMapping) -> str:
        return agent.timezone or self.user_zones.get(agent.kimai_user, "")

    def ensure_projects(self, job: SyncJob, organisations: set[str], kimai: KimaiConnector, settings, log) -> None:
        """ "Create missing": one Kimai customer (reused by name) and project per new organisation."""
        missing = sorted(org for org in organisations if org and org not in self.projects)
        if not missing:
            return
        customers = {c["name"]: int(c["id"]) for c in kimai.customers()}
        projects = {(int(p["customer"]), p["name"]): int(p["id"]) for p in kimai.projects()}
        for org in missing:
            customer = customers.get(org) or int(kimai.create_customer(name=org)["id"])
            key = (customer, settings.new_project_name)
            project = projects.get(key)
            if project is None:
                project = int(kimai.create_project(name=settings.new_project_name, customer=customer)["id"])
            ProjectMapping.objects.create(job=job, organisation=org, kimai_customer=customer, kimai_project=project)
            self.projects[org] = project
            log("info", f"created Kimai customer/project for organisation {org!r}")


def time_entry(record: dict, ticket: dict, types: dict[int, str], zone: ZoneInfo, settings) -> TimeEntry:
    seconds = int(Decimal(record["time_unit"]) * settings.minutes_per_unit * 60)
    # Zammad stamps an accounting when it is recorded, after the work: the work began
    # ``duration`` earlier. Floored to the minute as Kimai's default rounding would.
    start = (parse_zammad_time(record["created_at"]) - timedelta(seconds=seconds)).astimezone(zone)
    type_id = record.get("type_id")
    return TimeEntry(
        source_id=str(record["id"]),
        ticket_id=int(record["ticket_id"]),
        ticket_number=str(ticket.get("number") or record["ticket_id"]),
        ticket_title=ticket.get("title") or "",
        agent_id=int(record["created_by_id"]),
        start=start.replace(second=0, microsecond=0),
        duration_seconds=seconds,
        activity_type=types.get(type_id, "") if type_id else "",
        activity_type_id=type_id,
        description="",
        organisation=ticket.get("organization") or "",
        customer=ticket.get("customer") or "",
    )


def resolve(
    record: dict, ticket: dict, types: dict[int, str], maps: Mappings, settings
) -> tuple[TimeEntry, Desired] | Unresolved:
    source_id, ticket_id = str(record["id"]), int(record["ticket_id"])
    agent = maps.agents.get(int(record["created_by_id"]))
    if agent is None:
        return Unresolved(source_id, ticket_id, Reason.USER_UNMAPPED)
    zone = maps.zone(agent)
    if not zone:
        return Unresolved(source_id, ticket_id, Reason.TIMEZONE_UNKNOWN)
    entry = time_entry(record, ticket, types, ZoneInfo(zone), settings)
    activity = maps.activities.get(entry.activity_type_id)
    if activity is None:
        return Unresolved(source_id, ticket_id, Reason.ACTIVITY_UNMAPPED)
    project = maps.projects.get(entry.organisation)
    if project is None:
        return Unresolved(source_id, ticket_id, Reason.PROJECT_MISSING)
    return entry, Desired(
        source_id=source_id,
        ticket_id=ticket_id,
        begin=entry.start,
        duration_seconds=entry.duration_seconds,
        project=project,
        activity=activity,
        user=agent.kimai_user,
        description=entry.kimai_description(),
    )


def read_sides(
    job: SyncJob,
    zammad: ZammadConnector,
    kimai: KimaiConnector,
    settings: TimesheetSettings,
    *,
    scope: list[int] | None,
    now: datetime,
    dry_run: bool,
    log,
) -> Sides:
    sides = Sides()
    if scope is None:
        since = now - timedelta(days=settings.lookback_days)
        records = []
        for record in zammad.list_time_accountings():
            sides.known_source_ids.add(str(record["id"]))
            if parse_zammad_time(record["created_at"]) >= since:
                records.append(record)
    else:
        records = [r for ticket in scope for r in zammad.list_time_accountings(ticket_id=ticket)]
        sides.known_source_ids = {str(r["id"]) for r in records}
    tickets = zammad.tickets({int(r["ticket_id"]) for r in records} | set(scope or ()))
    types = zammad.list_types() if records else {}
    maps = Mappings(job, kimai, log)
    if settings.create_missing_projects and not dry_run:
        organisations = {tickets.get(int(r["ticket_id"]), {}).get("organization") or "" for r in records}
        maps.ensure_projects(job, organisations, kimai, settings, log)
    for record in records:
        sides.raw_source[str(record["id"])] = {**record, "ticket": tickets.get(int(record["ticket_id"]), {})}
        resolved = resolve(record, tickets.get(int(record["ticket_id"]), {}), types, maps, settings)
        if isinstance(resolved, tuple):
            sides.entries[resolved[0].source_id] = resolved[0]
            resolved = resolved[1]
        sides.wanted.append(resolved)
    if scope is None:
        # Two days of slack: an entry starts up to its duration before Zammad stamped it.
        kimai_records = list(kimai.list_timesheets(begin=since - timedelta(days=2)))
    else:
        kimai_records = []
        for ticket in scope:
            number = str(tickets.get(ticket, {}).get("number") or "")
            if number:
                # ``term`` is LIKE %…%: #5300 also finds #53001, so keep exact ticket numbers only.
                found = kimai.list_timesheets(term=f"#{number}")
                kimai_records += [r for r in found if ticket_number_in(r.get("description")) == number]
    for record in kimai_records:
        sides.raw_kimai[int(record["id"])] = record
        sides.kimai.append(kimai_entry(record))
    return sides
