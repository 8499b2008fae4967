"""Poison calendars: how long the busy pull takes and how much memory it peaks at.

Puts the poison objects of ``calsync.testing.poison`` (every second forever; every minute with
3,000 EXDATEs; a billion seconds by COUNT) into real Radicale and Xandikos calendars, next to one
ordinary event, and runs the real busy pull (``booking.pulls.busy_pull``) on each: wall time
(median of ``--runs``, without tracemalloc) and peak Python memory (one run under tracemalloc).
Radicale refuses COUNT above 10,000 by itself, so its calendar holds the first two. Then the same
for the CalDAV server's free-busy-query over a calendar holding all three, and what expanding one
hour of the SECONDLY rule costs without bounds (extrapolated to the pull's 400-day window).
Target: the pull of a poison calendar well under a second, peak memory in megabytes.

    PYTHONPATH=. .venv/bin/python bench/poison_bench.py [--runs 5]
"""

from __future__ import annotations

import argparse
import base64
import os
import statistics
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

os.environ.setdefault("CALSYNC_DATA_DIR", tempfile.mkdtemp(prefix="calsync-bench-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "calsync.settings")
os.environ.setdefault("CALSYNC_LOG_LEVEL", "ERROR")

import django

django.setup()

import icalendar  # noqa: E402
import recurring_ical_events  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402

from accounts.connectors import connector_for  # noqa: E402
from accounts.connectors.base import AccountConfig  # noqa: E402
from accounts.models import Account  # noqa: E402
from booking.models import Artist, ArtistCalendar, BusyBlock  # noqa: E402
from booking.pulls import busy_pull, calendar_collection, calendar_connector  # noqa: E402
from calsync.testing.poison import poison_objects  # noqa: E402
from calsync.testing.servers import DavServer, start_radicale, start_xandikos  # noqa: E402
from feeds.dav.services import app_password_create  # noqa: E402

ORDINARY = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//EN\r\nBEGIN:VEVENT\r\nUID:ordinary\r\n"
    "DTSTAMP:20260101T000000Z\r\nDTSTART:{start:%Y%m%dT%H%M%SZ}\r\nDURATION:PT1H\r\nSUMMARY:Ordinary\r\n"
    "END:VEVENT\r\nEND:VCALENDAR\r\n"
)


def measure(call: Callable[[], object], runs: int) -> tuple[float, float]:
    """(median seconds over ``runs`` plain runs, peak MB of one run under tracemalloc)."""
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        call()
        times.append(time.perf_counter() - began)
    tracemalloc.start()
    call()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return statistics.median(times), peak / 1e6


def poison_calendar(server: DavServer, uids: list[str], now: datetime) -> ArtistCalendar:
    config = AccountConfig(kind="caldav", url=server.url, username=server.username, password=server.password)
    objects = poison_objects(now)
    with connector_for(config) as dav:
        collection = dav.create_collection(name=f"Poison {uuid.uuid4().hex[:6]}", kind="calendar")
        for uid in uids:
            dav.put(collection, objects[uid], uid=uid)
        dav.put(collection, ORDINARY.format(start=now + timedelta(days=3)).encode(), uid="ordinary")
    owner, _ = User.objects.get_or_create(username="bench")
    account = Account.objects.create(
        owner=owner, name=f"{server.name} {uuid.uuid4().hex[:6]}", kind="caldav", url=server.url,
        username=server.username, password=server.password,
    )  # fmt: skip
    artist = Artist.objects.create(name="Poisoned", slug=f"poisoned-{uuid.uuid4().hex[:6]}", time_zone="Europe/Berlin")
    return ArtistCalendar.objects.create(artist=artist, account=account, calendar_url=collection.url)


def bench_pull(server: DavServer, uids: list[str], runs: int, now: datetime) -> None:
    calendar = poison_calendar(server, uids, now)

    def full_pull() -> None:
        # From scratch each time: with its busy blocks in place a pull would skip unchanged events.
        BusyBlock.objects.filter(calendar=calendar).delete()
        ArtistCalendar.objects.filter(pk=calendar.pk).update(sync_token="", last_full_pull_at=None)
        fresh = ArtistCalendar.objects.get(pk=calendar.pk)
        result = busy_pull(calendar=fresh, now=now)
        assert result.ok, result.message

    def server_only() -> None:
        # What the server itself takes to list and send the objects, for comparison.
        with calendar_connector(calendar) as dav:
            listing = dav.list_items(calendar_collection(calendar))
            list(dav.fetch(calendar_collection(calendar), list(listing.items)))

    seconds, peak = measure(full_pull, runs)
    fetching, _ = measure(server_only, runs)
    blocks = BusyBlock.objects.filter(calendar=calendar).count()
    print(
        f"busy pull, {server.name:9} {len(uids)} poison + 1 ordinary: {seconds * 1000:7.1f} ms median "
        f"(of which listing+fetching {fetching * 1000:.0f} ms), peak {peak:5.1f} MB, {blocks} busy block rows"
    )


def bench_free_busy(runs: int, now: datetime) -> None:
    user = User.objects.create_user(f"dav-{uuid.uuid4().hex[:6]}")
    _, password = app_password_create(user=user, name="bench")
    token = base64.b64encode(f"{user.username}:{password}".encode()).decode()
    client = Client(headers={"Authorization": f"Basic {token}"}, SERVER_NAME="localhost")
    home = f"/dav/calendars/{user.username}/calendar/"
    for uid, data in poison_objects(now).items():
        assert client.generic("PUT", f"{home}{uid}.ics", data, content_type="text/calendar").status_code == 201
    body = (
        '<C:free-busy-query xmlns:C="urn:ietf:params:xml:ns:caldav"><C:time-range '
        f'start="{now:%Y%m%dT%H%M%SZ}" end="{now + timedelta(days=30):%Y%m%dT%H%M%SZ}"/></C:free-busy-query>'
    )

    def query() -> None:
        assert client.generic("REPORT", home, body, content_type="application/xml").status_code == 200

    seconds, peak = measure(query, runs)
    print(f"CalDAV free-busy-query, 30 days, 3 poison:          {seconds * 1000:7.1f} ms median, peak {peak:5.1f} MB")


def unbounded_estimate(now: datetime) -> None:
    """What one hour of the SECONDLY rule costs recurring-ical-events without bounds, scaled to the window."""
    calendar = icalendar.Calendar.from_ical(poison_objects(now)["poison-secondly"])
    tracemalloc.start()
    began = time.perf_counter()
    hour = recurring_ical_events.of(calendar).between(now, now + timedelta(hours=1))
    seconds = time.perf_counter() - began
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    hours = (settings.CALSYNC_BUSY_WINDOW_DAYS + 1) * 24
    print(
        f"without bounds: one hour of FREQ=SECONDLY = {len(hour)} instances, {seconds:.2f} s (under tracemalloc), "
        f"{peak / 1e6:.0f} MB; the {hours // 24}-day pull window is {hours}x that: "
        f"~{seconds * hours / 3600:.0f} h and ~{peak * hours / 1e9:.0f} GB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    now = datetime.now(UTC).replace(microsecond=0)
    radicale, xandikos = start_radicale(), start_xandikos()
    try:
        bench_pull(radicale, ["poison-secondly", "poison-minutely-exdates"], args.runs, now)
        bench_pull(xandikos, ["poison-secondly", "poison-minutely-exdates", "poison-count-billion"], args.runs, now)
        bench_free_busy(args.runs, now)
        unbounded_estimate(now)
    finally:
        radicale.stop()
        xandikos.stop()


if __name__ == "__main__":
    main()
