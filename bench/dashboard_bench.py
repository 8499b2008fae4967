"""Dashboard cost: queries and time of ``GET /`` and of the live JSON it polls, for many jobs.

Builds ``--jobs`` sync jobs with ``--runs`` finished runs each (one job running), an open conflict
per job and a pending appointment per job, in a file SQLite database in a temp dir (or
``DATABASE_URL``), then renders the dashboard and its live JSON ``--repeat`` times through
``django.test.Client`` as a staff user. Prints the SQL query count (which must not grow with the
runs) and the median and p95 time of each.

    PYTHONPATH=. .venv/bin/python bench/dashboard_bench.py [--jobs 50] [--runs 200] [--repeat 30]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from datetime import timedelta

os.environ.setdefault("CALSYNC_DATA_DIR", tempfile.mkdtemp(prefix="calsync-bench-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "calsync.settings")
os.environ.setdefault("CALSYNC_LOG_LEVEL", "ERROR")

import django

django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import Account  # noqa: E402
from booking.models import Appointment, Artist  # noqa: E402
from calsync.ops.models import Heartbeat  # noqa: E402
from jobs.models import Conflict, SyncJob, SyncRun  # noqa: E402
from jobs.schedules import sync_job_set_schedule  # noqa: E402


def populate(jobs: int, runs: int) -> User:
    call_command("migrate", verbosity=0)
    admin = User.objects.create_superuser("bench-admin", password="x")
    a = Account.objects.create(owner=admin, name="a", kind="caldav", url="http://127.0.0.1:9/")
    b = Account.objects.create(owner=admin, name="b", kind="caldav", url="http://127.0.0.1:9/b/")
    artist = Artist.objects.create(name="Artist", slug="artist")
    now = timezone.now()
    for j in range(jobs):
        job = SyncJob.objects.create(owner=admin, name=f"job {j:03d}", source=a, destination=b)
        if j % 2:
            sync_job_set_schedule(job=job, interval_minutes=15)
        SyncRun.objects.bulk_create(
            SyncRun(
                job=job, status="failed" if i % 17 == 0 else "completed", created=i % 7, updated=i % 11,
                started_at=now - timedelta(minutes=15 * (runs - i), seconds=40),
                finished_at=now - timedelta(minutes=15 * (runs - i)),
            )
            for i in range(runs)
        )  # fmt: skip
        if j == 0:
            SyncRun.objects.create(job=job, status="running", started_at=now, progress_total=100)
        Conflict.objects.create(job=job, uid=f"u{j}", reason="changed on both sides")
        start = now + timedelta(days=1, hours=j)
        Appointment.objects.create(
            artist=artist, client_name=f"c{j}", client_email="c@example.org", start=start,
            end=start + timedelta(hours=1), push_state="synced",
        )  # fmt: skip
    Heartbeat.objects.create(name="w", kind="worker", seen_at=now)
    Heartbeat.objects.create(name="b", kind="beat", seen_at=now)
    return admin


def measure(client: Client, path: str, repeat: int) -> tuple[int, list[float]]:
    queries: list[str] = []

    def count(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        assert client.get(path).status_code == 200
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        client.get(path)
        times.append((time.perf_counter() - began) * 1000)
    return len(queries), sorted(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=50)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    admin = populate(args.jobs, args.runs)
    client = Client(HTTP_HOST="localhost")
    client.force_login(admin)
    print(f"{args.jobs} jobs x {args.runs} runs, {connection.vendor}")
    for path in ("/", "/console/live.json"):
        count, times = measure(client, path, args.repeat)
        p95 = times[max(0, int(len(times) * 0.95) - 1)]
        print(f"GET {path:<20} {count:4d} queries   median {statistics.median(times):7.1f} ms   p95 {p95:7.1f} ms")


if __name__ == "__main__":
    main()
