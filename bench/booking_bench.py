"""Availability speed: one busy artist, in-process and over HTTP under gunicorn.

One artist with 10,000 busy blocks over two years (a third expanded from weekly recurring series)
and 5,000 appointments, in a file SQLite database in a temp dir (or ``DATABASE_URL``). Prints the
median and p95 of an availability check in-process (the whole service path: freshness check plus
the two indexed queries), then requests/s for ``GET /api/availability`` under gunicorn with
concurrent keep-alive clients and a fixed request count. Targets: p95 ≤ 5 ms; ≥ 300 req/s.

    PYTHONPATH=. .venv/bin/python bench/booking_bench.py [--checks 2000] [--requests 6000] [--clients 16]
        [--gunicorn sync:3 gthread:2x4] [--profile 1000]

``--gunicorn`` lists the server set-ups to measure, each ``sync:<workers>`` or
``gthread:<workers>x<threads>``. ``--profile N`` instead profiles N requests in-process through
``django.test.Client`` (cProfile) and prints where the time of one request goes.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

os.environ.setdefault("CALSYNC_DATA_DIR", tempfile.mkdtemp(prefix="calsync-bench-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "calsync.settings")
os.environ.setdefault("CALSYNC_LOG_LEVEL", "WARNING")
os.environ.setdefault("CALSYNC_BUSY_MAX_AGE_SECONDS", str(7 * 86400))  # the data counts as fresh

import django

django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import Account  # noqa: E402
from booking.busy import busy_intervals  # noqa: E402
from booking.models import Appointment, Artist, ArtistCalendar, BusyBlock  # noqa: E402
from booking.services import availability_check  # noqa: E402

BUSY_BLOCKS = 10_000
APPOINTMENTS = 5_000
DAYS = 730
ZONE = "Europe/Berlin"


def weekly_series(uid: str, first: datetime, count: int) -> bytes:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:{uid}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART;TZID={ZONE}:{first:%Y%m%dT%H%M%S}\r\n"
        f"DTEND;TZID={ZONE}:{first + timedelta(hours=1, minutes=30):%Y%m%dT%H%M%S}\r\n"
        f"RRULE:FREQ=WEEKLY;COUNT={count}\r\nSUMMARY:Series {uid}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    ).encode()


def populate(rng: random.Random) -> tuple[Artist, datetime]:
    call_command("migrate", verbosity=0)
    owner = User.objects.create_user("bench", is_staff=True)
    account = Account.objects.create(owner=owner, name="dav", kind="caldav", url="http://127.0.0.1:9/")
    artist = Artist.objects.create(
        name="Busy",
        slug="busy",
        time_zone=ZONE,
        buffer_minutes=10,
        min_notice_minutes=0,
        working_hours={str(d): [["08:00", "22:00"]] for d in range(7)},
    )
    calendar = ArtistCalendar.objects.create(
        artist=artist, account=account, calendar_url="http://127.0.0.1:9/c/", last_pulled_at=timezone.now()
    )
    origin = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    blocks = []
    recurring_target = BUSY_BLOCKS // 3
    series = 0
    while len(blocks) < recurring_target:
        first = (origin + timedelta(days=rng.randrange(7), hours=rng.randrange(8, 20))).replace(tzinfo=None)
        data = weekly_series(f"s{series}", first, DAYS // 7)
        blocks.extend(
            BusyBlock(
                calendar=calendar,
                artist=artist,
                href=f"/c/s{series}.ics",
                uid=interval.uid,
                start=interval.start,
                end=interval.end,
            )
            for interval in busy_intervals(data, zone=artist_zone(artist), start=origin, end=origin + timedelta(DAYS))
        )
        series += 1
    del blocks[recurring_target:]
    while len(blocks) < BUSY_BLOCKS:
        start = origin + timedelta(minutes=rng.randrange(DAYS * 24 * 4) * 15)
        blocks.append(
            BusyBlock(
                calendar=calendar,
                artist=artist,
                href=f"/c/e{len(blocks)}.ics",
                uid=str(len(blocks)),
                start=start,
                end=start + timedelta(minutes=rng.choice((30, 60, 90, 180))),
            )
        )
    BusyBlock.objects.bulk_create(blocks, batch_size=2000)
    # Seven one-hour appointments a day, never overlapping each other (the PostgreSQL constraint).
    appointments = [
        Appointment(
            artist=artist,
            client_name="c",
            client_email="c@example.org",
            start=origin + timedelta(days=n // 7, hours=6 + 2 * (n % 7)),
            end=origin + timedelta(days=n // 7, hours=7 + 2 * (n % 7)),
            status=rng.choice(("pending", "confirmed", "cancelled")),
        )
        for n in range(APPOINTMENTS)
    ]
    Appointment.objects.bulk_create(appointments, batch_size=2000)
    return artist, origin


def artist_zone(artist: Artist):
    from zoneinfo import ZoneInfo

    return ZoneInfo(artist.time_zone)


def random_query(rng: random.Random, origin: datetime) -> tuple[datetime, datetime]:
    start = origin + timedelta(days=rng.randrange(DAYS), hours=rng.randrange(7, 21), minutes=rng.choice((0, 30)))
    return start, start + timedelta(minutes=rng.choice((30, 60, 120)))


def in_process(artist: Artist, origin: datetime, checks: int, rng: random.Random) -> list[float]:
    for _ in range(50):
        availability_check(artist=artist, start=origin + timedelta(hours=10), end=origin + timedelta(hours=11))
    samples = []
    outcomes = {"free": 0, "not": 0}
    for _ in range(checks):
        start, end = random_query(rng, origin)
        began = time.perf_counter()
        answer = availability_check(artist=artist, start=start, end=end)
        samples.append((time.perf_counter() - began) * 1000)
        outcomes["free" if answer.verdict.available else "not"] += 1
    print(f"  answers: {outcomes['free']} available, {outcomes['not']} not")
    return samples


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def gunicorn_options(setup: str) -> list[str]:
    """``sync:3`` → three sync workers; ``gthread:2x4`` → two workers of four threads each."""
    kind, _, size = setup.partition(":")
    if kind == "sync":
        return ["--worker-class", "sync", "--workers", size]
    if kind == "gthread":
        workers, _, threads = size.partition("x")
        return ["--worker-class", "gthread", "--workers", workers, "--threads", threads or "4"]
    raise SystemExit(f"unknown gunicorn set-up {setup!r}: use sync:<workers> or gthread:<workers>x<threads>")


def over_http(origin: datetime, requests: int, clients: int, setup: str, rng: random.Random) -> None:
    from django.conf import settings

    port = free_port()
    db = settings.DATABASES["default"]
    env = {**os.environ}
    if db["ENGINE"].endswith("sqlite3"):
        env["DATABASE_URL"] = f"sqlite:///{db['NAME']}"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "calsync.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            *gunicorn_options(setup),
            "--log-level",
            "warning",
        ],
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
        process_group=0,
    )
    try:
        wait_for(port)
        paths = []
        for _ in range(requests):
            start, end = random_query(rng, origin)
            paths.append(
                "/api/availability?" + urlencode({"artist": "busy", "start": start.isoformat(), "end": end.isoformat()})
            )
        errors: list[str] = []
        chunks = [paths[i::clients] for i in range(clients)]

        def client(chunk: list[str]) -> None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            for path in chunk:
                for attempt in range(2):
                    try:
                        conn.request("GET", path)
                        response = conn.getresponse()
                        response.read()
                        if response.status != 200:
                            errors.append(str(response.status))
                        break
                    except (http.client.HTTPException, OSError) as exc:
                        conn.close()  # the server closed a keep-alive connection: reconnect once
                        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                        if attempt:
                            errors.append(repr(exc))
            conn.close()

        threads = [threading.Thread(target=client, args=(chunk,)) for chunk in chunks]
        began = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - began
        load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
        print(
            f"  HTTP: {requests} requests, {clients} clients, gunicorn {setup}: "
            f"{requests / elapsed:.0f} req/s, {len(errors)} errors (target >= 300 req/s, 0 errors; "
            f"load average {load})"
        )
        if errors:
            print(f"  first errors: {errors[:5]}")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)


def wait_for(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/health")
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not start")


def profile_requests(origin: datetime, count: int, rng: random.Random) -> None:
    """Where one request's time goes, in-process: the HTTP server and the clients are left out."""
    import cProfile
    import pstats

    from django.test import Client

    client = Client(HTTP_HOST="127.0.0.1")
    paths = []
    for _ in range(count):
        start, end = random_query(rng, origin)
        paths.append(
            "/api/availability?" + urlencode({"artist": "busy", "start": start.isoformat(), "end": end.isoformat()})
        )
    for path in paths[:100]:
        client.get(path)  # warm up: URL resolver, connection, imports
    began = time.perf_counter()
    for path in paths:
        client.get(path)
    print(
        f"  in-process GET /api/availability through django.test.Client: "
        f"{(time.perf_counter() - began) * 1000 / count:.2f} ms per request"
    )
    profiler = cProfile.Profile()
    profiler.runcall(lambda: [client.get(path) for path in paths])
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=6000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--gunicorn", nargs="*", default=["sync:3", "gthread:2x4"])
    parser.add_argument("--profile", type=int, default=0, metavar="N")
    args = parser.parse_args()
    rng = random.Random(5)
    began = time.perf_counter()
    artist, origin = populate(rng)
    print(
        f"booking bench: {BusyBlock.objects.count()} busy blocks, {Appointment.objects.count()} appointments "
        f"(set up in {time.perf_counter() - began:.1f} s)"
    )
    if args.profile:
        profile_requests(origin, args.profile, rng)
        return
    samples = sorted(in_process(artist, origin, args.checks, rng))
    p95 = samples[int(len(samples) * 0.95) - 1]
    print(
        f"  in-process availability_check: median {statistics.median(samples):.2f} ms, p95 {p95:.2f} ms "
        f"over {len(samples)} checks (target p95 <= 5 ms)"
    )
    for setup in args.gunicorn:
        over_http(origin, args.requests, args.clients, setup, rng)


if __name__ == "__main__":
    main()
