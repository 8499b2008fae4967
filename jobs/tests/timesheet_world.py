"""A Zammad and a Kimai stand-in filled like a small support team, and a job between them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.contrib.auth.models import User

from accounts.models import Account
from calsync.testing.timesheets import KimaiStandIn, ZammadStandIn
from jobs.models import SyncJob, SyncRun
from jobs.runner import sync_run_execute
from jobs.timesheets.models import ActivityMapping, AgentMapping, ProjectMapping, TimesheetSettings


@dataclass
class World:
    zammad: ZammadStandIn
    kimai: KimaiStandIn
    job: SyncJob
    ann: int  # Zammad agent
    ann_kimai: int
    ticket: int
    other_ticket: int
    phone: int  # Zammad type
    phone_activity: int
    project: int

    def account(self, minutes_ago: int, units: float = 15, ticket: int | None = None, type_id: int | None = -1) -> int:
        return self.zammad.add_time_accounting(
            ticket or self.ticket,
            units,
            created_by_id=self.ann,
            created_at=datetime.now(UTC) - timedelta(minutes=minutes_ago),
            type_id=self.phone if type_id == -1 else type_id,
        )

    def run(self, **kwargs) -> SyncRun:
        run = SyncRun.objects.create(job=self.job, status=SyncRun.Status.QUEUED, **kwargs)
        return sync_run_execute(run.pk)

    def stop(self) -> None:
        self.zammad.stop()
        self.kimai.stop()


def build_world(owner: User) -> World:
    zammad, kimai = ZammadStandIn(), KimaiStandIn()
    zammad.add_user("sync@example.org", token="zammad-token")
    ann = zammad.add_user("ann@example.org", admin=False)
    acme = zammad.add_organization("ACME")
    ticket = zammad.add_ticket("Printer on fire", organization_id=acme)
    other = zammad.add_ticket("VPN down", organization_id=acme)
    phone = zammad.add_type("Phone")
    kimai.add_user("sync", timezone="UTC", role="ROLE_SUPER_ADMIN", token="kimai-token")
    ann_kimai = kimai.add_user("ann", timezone="Europe/Berlin")
    customer = kimai.add_customer("ACME")
    project = kimai.add_project("Support", customer)
    phone_activity = kimai.add_activity("Phone support")
    source = Account.objects.create(owner=owner, name="Zammad", kind="zammad", url=zammad.url, password="zammad-token")
    dest = Account.objects.create(owner=owner, name="Kimai", kind="kimai", url=kimai.url, password="kimai-token")
    job = SyncJob.objects.create(owner=owner, name="time", source=source, destination=dest)
    TimesheetSettings.objects.create(job=job)
    ActivityMapping.objects.create(
        job=job, zammad_type_id=phone, zammad_type_name="Phone", kimai_activity=phone_activity
    )
    ProjectMapping.objects.create(job=job, organisation="ACME", kimai_customer=customer, kimai_project=project)
    AgentMapping.objects.create(job=job, zammad_user_id=ann, email="ann@example.org", kimai_user=ann_kimai)
    return World(zammad, kimai, job, ann, ann_kimai, ticket, other, phone, phone_activity, project)
