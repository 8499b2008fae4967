"""An organisation moving servers: N users, each with a calendar on a source latency server, one
account pair and one copy job per user, created through the services as the admin and the API do.

Shared by the scale-out test (two real workers, one killed) and ``bench/org_bench.py``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from django.contrib.auth.models import AbstractBaseUser

from accounts.services import account_create
from calsync.lib.items import extract_uid
from calsync.testing import samples
from calsync.testing.latency_dav import LatencyDavServer
from jobs.models import SyncJob, SyncRun
from jobs.runs import sync_job_start
from jobs.services import sync_job_create


@dataclass
class Organisation:
    owner: AbstractBaseUser
    source: LatencyDavServer
    dest: LatencyDavServer
    users: int
    objects: int
    prefix: str = "user"
    jobs: list[SyncJob] = field(default_factory=list)

    def user(self, n: int) -> str:
        return f"{self.prefix}{n:05d}"

    def create(self) -> Organisation:
        """Seed every user's calendar on the source, then an account pair and a job per user."""
        corpus = samples.calendar_objects(self.objects)
        for n in range(self.users):
            name = self.user(n)
            self.source.seed(name, "Calendar", corpus)
            source = account_create(
                owner=self.owner, name=f"{name} source", kind="caldav", url=self.source.url_for(name),
                username=name, password="source-pass",
            )  # fmt: skip
            dest = account_create(
                owner=self.owner, name=f"{name} destination", kind="caldav", url=self.dest.url_for(name),
                username=name, password="dest-pass",
            )  # fmt: skip
            self.jobs.append(
                sync_job_create(owner=self.owner, name=f"{name} migration", source=source, destination=dest,
                                sync_contacts=False)
            )  # fmt: skip
        return self

    @property
    def items(self) -> int:
        return self.users * self.objects

    def start(self) -> list[SyncRun]:
        return [sync_job_start(job=job) for job in self.jobs]

    def runs(self) -> list[SyncRun]:
        return list(SyncRun.objects.filter(job__in=self.jobs).order_by("pk"))

    def finished(self) -> bool:
        return not SyncRun.objects.filter(job__in=self.jobs, status__in=SyncRun.ACTIVE).exists()

    def misplaced(self) -> dict[str, str]:
        """Users whose destination does not hold each of their source objects exactly once."""
        wrong = {}
        for n in range(self.users):
            name = self.user(n)
            source = Counter(extract_uid(data) for data in self.source.objects(name))
            dest = Counter(extract_uid(data) for data in self.dest.objects(name))
            if dest != source:
                missing, extra = source - dest, dest - source
                wrong[name] = f"{sum(missing.values())} missing, {sum(extra.values())} extra or duplicated"
        return wrong
