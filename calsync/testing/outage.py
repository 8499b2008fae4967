"""A destination server that goes away mid-run and comes back: the scenario the outage tests and
``bench/outage_bench.py`` share.

One job per mode (copy, mirror, two-way) copies its own source calendar into one destination
server, all three running at once on real workers. When every run is writing, the destination
process is stopped (clients get "connection refused"), kept down for the outage, then started
again on the same port with the same data. Nobody touches anything after that: the follow-up
sweep (what beat runs) must bring every owed item home.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from accounts.connectors import connector_for
from accounts.connectors.base import AccountConfig, ConnectorError, RemoteCollection
from accounts.models import Account
from calsync.lib.items import extract_uid, strip_method, unfolded_lines
from calsync.testing import samples
from calsync.testing.servers import DavServer
from calsync.testing.workers import eventually
from jobs.models import OwedItem, SyncJob, SyncRun
from jobs.runs import sync_job_start

MODES = ("copy", "mirror", "two-way")


def normalized(data: bytes) -> tuple[str, ...]:
    """The object's content lines, independent of how a server re-serialises them: Xandikos
    reorders properties and parameters, quotes parameter values and reorders RRULE parts."""
    lines = []
    for line in unfolded_lines(strip_method(data)):
        head, _, value = line.partition(":") if not line.startswith(("BEGIN", "END")) else (line, "", "")
        name, *params = head.split(";")
        params = sorted(param.replace('"', "") for param in params)
        if name.upper() in ("RRULE", "EXRULE"):
            value = ";".join(sorted(value.split(";")))
        lines.append(";".join([name.upper(), *params]) + ":" + value)
    return tuple(sorted(lines))


def dav(server: DavServer):
    return connector_for(
        AccountConfig(kind="caldav", url=server.url, username=server.username, password=server.password)
    )


@dataclass
class OutageFigures:
    items_per_job: int
    outage_seconds: float
    modes: tuple[str, ...] = MODES
    owed_peak: int = 0  # the most items owed at once during the outage
    failed_runs: int = 0  # runs that ended early or failed while the server was away
    followup_runs: int = 0
    seconds_to_land: float = 0.0  # from the restart until every item of every job had landed
    done_when_stopped: dict[str, int] = field(default_factory=dict)

    def lines(self) -> list[str]:
        return [
            f"items per job: {self.items_per_job} ({', '.join(self.modes)} at once)",
            f"outage: {self.outage_seconds:.0f} s of connection refused",
            f"written before the stop: {self.done_when_stopped}",
            f"items owed at the peak: {self.owed_peak}",
            f"runs that ended early: {self.failed_runs}; follow-up runs: {self.followup_runs}",
            f"time from restart until everything landed: {self.seconds_to_land:.1f} s",
        ]


class OutageWorld:
    def __init__(self, *, owner, source: DavServer, dest: DavServer, items: int, modes=MODES) -> None:
        self.source, self.dest = source, dest
        self.items = items
        token = uuid.uuid4().hex[:6]
        self.source_account = Account.objects.create(
            owner=owner, name=f"outage source {token}", kind="caldav", url=source.url,
            username=source.username, password=source.password,
        )  # fmt: skip
        self.dest_account = Account.objects.create(
            owner=owner, name=f"outage dest {token}", kind="caldav", url=dest.url,
            username=dest.username, password=dest.password,
        )  # fmt: skip
        # One source calendar read by the three jobs, each writing into a calendar of its own.
        source_dav, dest_dav = dav(source), dav(dest)
        self.source_collection = source_dav.create_collection(
            name=f"Outage {token}", kind="calendar", components=("VEVENT", "VTODO")
        )
        for data in samples.calendar_objects(items):
            source_dav.put(self.source_collection, data, uid=extract_uid(data))
        self.jobs: dict[str, SyncJob] = {}
        self.collections: dict[str, RemoteCollection] = {}
        for mode in modes:
            self.collections[mode] = dest_dav.create_collection(
                name=f"Outage {mode} {token}", kind="calendar", components=("VEVENT", "VTODO")
            )
            self.jobs[mode] = SyncJob.objects.create(
                owner=owner, name=f"outage {mode} {token}", source=self.source_account,
                destination=self.dest_account, mode=mode, sync_contacts=False,
                collection_map={self.source_collection.url: self.collections[mode].url},
            )  # fmt: skip
        source_dav.close()
        dest_dav.close()
        self.figures = OutageFigures(items_per_job=items, outage_seconds=0, modes=tuple(modes))

    def start(self) -> list[SyncRun]:
        return [sync_job_start(job=job) for job in self.jobs.values()]

    def wait_until_all_write(self, runs: list[SyncRun], *, at_least: int = 10, timeout: float = 120) -> None:
        """Until every destination calendar holds ``at_least`` objects: all runs are mid-write."""

        def writing() -> bool:
            counts = self.dest_counts()
            return len(counts) == len(self.jobs) and min(counts.values()) >= at_least and counts

        self.figures.done_when_stopped = eventually(writing, timeout=timeout, what="every run writing")

    def outage(self, seconds: float, *, sweep: Callable[[], object]) -> None:
        """Stop the destination for ``seconds``, sweeping for follow-ups as beat would, then start it."""
        self.figures.outage_seconds = seconds
        self.dest.halt()
        ends = time.monotonic() + seconds
        while time.monotonic() < ends:
            sweep()
            self.figures.owed_peak = max(self.figures.owed_peak, self.owed())
            time.sleep(1)
        self.dest.restart()

    def owed(self) -> int:
        return OwedItem.objects.filter(job__in=self.jobs.values()).count()

    def landed(self) -> bool:
        for job in self.jobs.values():
            latest = job.runs.order_by("-created_at", "-id").first()
            if latest is None or latest.status != "completed" or job.owed_items.exists():
                return False
        return all(count == self.items for count in self.dest_counts().values())

    def wait_until_landed(self, *, sweep: Callable[[], object], timeout: float) -> float:
        restarted = time.monotonic()

        def probe() -> bool:
            sweep()
            self.figures.owed_peak = max(self.figures.owed_peak, self.owed())
            return self.landed()

        eventually(probe, timeout=timeout, what="every owed item to land")
        self.figures.seconds_to_land = time.monotonic() - restarted
        runs = SyncRun.objects.filter(job__in=self.jobs.values())
        self.figures.failed_runs = runs.filter(status="failed").count()
        self.figures.followup_runs = runs.filter(trigger=SyncRun.Trigger.FOLLOWUP).count()
        return self.figures.seconds_to_land

    def dest_counts(self) -> dict[str, int]:
        connector = dav(self.dest)
        try:
            return {mode: len(connector.list_items(self.collections[mode]).items) for mode in self.jobs}
        except ConnectorError:  # the server is still away
            return {}
        finally:
            connector.close()

    def contents(self, mode: str = "", *, dest: bool) -> Counter:
        """(UID, content) of every object in the source calendar or in ``mode``'s destination
        calendar, counted: a duplicate shows as a count of 2."""
        connector = dav(self.dest if dest else self.source)
        try:
            collection = self.collections[mode] if dest else self.source_collection
            hrefs = list(connector.list_items(collection).items)
            return Counter(
                (extract_uid(item.data), normalized(item.data)) for item in connector.fetch(collection, hrefs)
            )
        finally:
            connector.close()
