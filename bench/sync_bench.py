"""Benchmark: copy 2,000 calendar objects and 500 contacts from Radicale to Xandikos.

Prints, in one run on this machine:
- the floor: one bulk read of the source (a PROPFIND listing plus one multiget per collection)
  and bare sequential PUTs of the same bytes into fresh destination collections;
- calsync's first copy: wall time, its ratio to the floor, client CPU (user+sys) per object;
- calsync's second run with nothing changed: wall time and the number of writes.

Usage: python bench/sync_bench.py [--events 2000] [--contacts 500]
"""

from __future__ import annotations

import argparse
import http.client
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("CALSYNC_DATA_DIR", tempfile.mkdtemp(prefix="calsync-bench-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "calsync.settings")
os.environ.setdefault("CALSYNC_LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402

from accounts.connectors import connector_for  # noqa: E402
from accounts.connectors.base import AccountConfig, RemoteCollection  # noqa: E402
from accounts.models import Account  # noqa: E402
from calsync.testing import samples  # noqa: E402
from calsync.testing.servers import DavServer, start_radicale, start_xandikos  # noqa: E402
from jobs.models import SyncJob, SyncRun  # noqa: E402
from jobs.runner import sync_run_execute  # noqa: E402
from jobs.worker import freeze_startup_objects  # noqa: E402

MULTIGET = {
    "calendar": ("urn:ietf:params:xml:ns:caldav", "calendar-multiget", "calendar-data"),
    "addressbook": ("urn:ietf:params:xml:ns:carddav", "addressbook-multiget", "address-data"),
}


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def config(server: DavServer, kind: str) -> AccountConfig:
    return AccountConfig(kind=kind, url=server.url, username=server.username, password=server.password)


def fill_source(server: DavServer, events: int, contacts: int) -> dict[str, RemoteCollection]:
    """Seed the source with one upload per collection.

    Radicale checks each new object's UID against every object already in the collection, so
    2,000 single PUTs take tens of minutes; an upload of the whole collection (a Radicale
    feature) seeds it in seconds. Seeding is not measured.
    """
    calendars = connector_for(config(server, "caldav"))
    cards = connector_for(config(server, "carddav"))
    calendar = calendars.create_collection(name="Bench calendar", kind="calendar", components=("VEVENT", "VTODO"))
    book = cards.create_collection(name="Bench contacts", kind="addressbook")
    raw = Raw(server)
    for collection, body, content_type in (
        (calendar, _one_calendar(samples.calendar_objects(events)), "text/calendar"),
        (book, b"".join(samples.contacts(contacts)), "text/vcard"),
    ):
        status, answer = raw.request("PUT", urlsplit(collection.url).path, body, {"Content-Type": content_type})
        assert status in (200, 201, 204), (status, answer[:300])
    found = {c.url: c for c in [*calendars.list_collections(), *cards.list_collections()]}
    listed = calendars.list_items(found[calendar.url]), cards.list_items(found[book.url])
    assert (len(listed[0].items), len(listed[1].items)) == (events, contacts), [len(x.items) for x in listed]
    return {"calendar": found[calendar.url], "addressbook": found[book.url]}


def _one_calendar(objects: list[bytes]) -> bytes:
    """Every object's components in one VCALENDAR, each VTIMEZONE once."""
    from icalendar import Calendar

    merged = Calendar()
    merged.add("prodid", "-//calsync bench//EN")
    merged.add("version", "2.0")
    zones: set[str] = set()
    for data in objects:
        for component in Calendar.from_ical(data).subcomponents:
            if component.name == "VTIMEZONE":
                if str(component["TZID"]) in zones:
                    continue
                zones.add(str(component["TZID"]))
            merged.add_component(component)
    return merged.to_ical()


class Raw:
    """Bare HTTP on one keep-alive connection: what any client must do at the least."""

    def __init__(self, server: DavServer) -> None:
        parts = urlsplit(server.url)
        self.host, self.port = parts.hostname, parts.port
        self.auth = {}
        if server.password != "unused":
            import base64

            token = base64.b64encode(f"{server.username}:{server.password}".encode()).decode()
            self.auth = {"Authorization": f"Basic {token}"}
        self.connection = http.client.HTTPConnection(self.host, self.port)

    def request(self, method: str, path: str, body: bytes = b"", headers: dict | None = None) -> tuple[int, bytes]:
        for attempt in (1, 2):
            try:
                self.connection.request(method, path, body=body, headers={**self.auth, **(headers or {})})
                response = self.connection.getresponse()
                return response.status, response.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.connection.close()
                self.connection = http.client.HTTPConnection(self.host, self.port)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


def floor(source: DavServer, dest: DavServer, collections: dict[str, RemoteCollection], tag: str) -> tuple[float, int]:
    """One bulk read from the source, then bare sequential PUTs to fresh destination collections."""
    reader = connector_for(config(source, "caldav"))
    dest_calendar = connector_for(config(dest, "caldav")).create_collection(
        name=f"Floor calendar {tag}", kind="calendar", components=("VEVENT", "VTODO")
    )
    dest_book = connector_for(config(dest, "carddav")).create_collection(
        name=f"Floor contacts {tag}", kind="addressbook"
    )
    raw_source, raw_dest = Raw(source), Raw(dest)
    started = time.perf_counter()
    bodies: list[tuple[str, str, bytes]] = []
    for kind, collection in collections.items():
        path = urlsplit(collection.url).path
        listing = reader.list_items(collection)  # the cheap listing every client needs
        namespace, report, prop = MULTIGET[kind]
        hrefs = "".join(f"<d:href>{href}</d:href>" for href in listing.items)
        body = (
            f'<?xml version="1.0"?><c:{report} xmlns:d="DAV:" xmlns:c="{namespace}"><d:prop><c:{prop}/></d:prop>'
            f"{hrefs}</c:{report}>"
        ).encode()
        status, answer = raw_source.request("REPORT", path, body, {"Depth": "1", "Content-Type": "application/xml"})
        assert status == 207, status
        target = dest_calendar if kind == "calendar" else dest_book
        bodies.extend((urlsplit(target.url).path, kind, data) for data in _payloads(answer, prop))
    for number, (path, kind, data) in enumerate(bodies):
        name, content_type = (
            (f"floor-{number}.ics", "text/calendar") if kind == "calendar" else (f"floor-{number}.vcf", "text/vcard")
        )
        status, _ = raw_dest.request("PUT", f"{path}{quote(name)}", data, {"Content-Type": content_type})
        assert status in (200, 201, 204), status
    return time.perf_counter() - started, len(bodies)


def _payloads(multistatus: bytes, prop: str) -> list[bytes]:
    from defusedxml.ElementTree import fromstring

    tree = fromstring(multistatus)
    return [
        (element.text or "").replace("\r\n", "\n").replace("\n", "\r\n").encode()
        for element in tree.iter()
        if element.tag.endswith("}" + prop)
    ]


def calsync_run(job: SyncJob) -> tuple[float, float, SyncRun]:
    run = SyncRun.objects.create(job=job, status=SyncRun.Status.QUEUED)
    cpu, started = cpu_seconds(), time.perf_counter()
    run = sync_run_execute(run.pk)
    return time.perf_counter() - started, cpu_seconds() - cpu, run


def fresh_job(source: DavServer, dest: DavServer, collections: dict[str, RemoteCollection], tag: str) -> SyncJob:
    """A job into new, empty destination collections, so every round copies everything."""
    targets = {
        collections["calendar"].url: connector_for(config(dest, "caldav")).create_collection(
            name=f"calsync calendar {tag}", kind="calendar", components=("VEVENT", "VTODO")
        ),
        collections["addressbook"].url: connector_for(config(dest, "carddav")).create_collection(
            name=f"calsync contacts {tag}", kind="addressbook"
        ),
    }
    owner = User.objects.create_user(f"bench-{tag}-{time.time_ns()}", is_staff=True)
    return SyncJob.objects.create(
        owner=owner,
        name="bench",
        source=Account.objects.create(owner=owner, name="radicale", kind="caldav", url=source.url,
                                      username=source.username, password=source.password),
        destination=Account.objects.create(owner=owner, name="xandikos", kind="caldav", url=dest.url),
        collection_map={url: target.url for url, target in targets.items()},
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--contacts", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3, help="alternating floor/calsync rounds (medians reported)")
    options = parser.parse_args()
    call_command("migrate", verbosity=0)
    freeze_startup_objects()  # as a worker process does once it has started (jobs/worker.py)
    source, dest = start_radicale(), start_xandikos()
    floors, walls, cpus = [], [], []
    try:
        print(f"filling Radicale with {options.events} calendar objects and {options.contacts} contacts …", flush=True)
        collections = fill_source(source, options.events, options.contacts)
        objects = options.events + options.contacts
        for round_number in range(options.rounds):
            floor_wall, copied = floor(source, dest, collections, str(round_number))
            job = fresh_job(source, dest, collections, str(round_number))
            wall, cpu, first = calsync_run(job)
            assert first.status == "completed" and first.created == objects and not first.errors, (
                first.status,
                first.error,
            )
            floors.append(floor_wall)
            walls.append(wall)
            cpus.append(cpu)
            print(
                f"round {round_number + 1}: floor {floor_wall:.2f} s, calsync {wall:.2f} s, CPU {cpu:.2f} s", flush=True
            )
        second_wall, _cpu, second = calsync_run(job)
    finally:
        source.stop()
        dest.stop()

    floor_wall, wall, cpu = statistics.median(floors), statistics.median(walls), statistics.median(cpus)
    writes = second.created + second.updated + second.deleted
    print(f"objects:                       {objects} ({copied} in the floor)")
    print(f"floor (bulk read + bare PUTs): {floor_wall:.2f} s  (median of {options.rounds})")
    print(f"calsync first copy:            {wall:.2f} s  = {wall / floor_wall:.3f} x floor  (target <= 1.10)")
    print(f"calsync client CPU:            {cpu:.2f} s  = {1000 * cpu / objects:.3f} ms/object  (target <= 1)")
    print(f"calsync unchanged re-run:      {second_wall:.3f} s, {writes} writes  (target <= 0.5 s, 0 writes)")


if __name__ == "__main__":
    main()
