"""Benchmark: a destination server stopped mid-run, then started again. What was owed, and how
long until everything landed with nobody touching anything?

Three jobs (copy, mirror, two-way) copy one Radicale calendar into one destination server at once,
on a real Celery worker (embedded mode: SQLite and the filesystem broker, in a throwaway data
dir). When all three are writing, the destination process is stopped (connection refused) for
``--outage`` seconds and started again on the same port with the same data; the follow-up sweep
runs every second, as beat would. Prints the figures the outage tests assert nothing about.

Usage: python bench/outage_bench.py [--outage 35] [--items 120] [--dest radicale|xandikos]
                                    [--backoff 5,10,20]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("CALSYNC_DATA_DIR", tempfile.mkdtemp(prefix="calsync-bench-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "calsync.settings")
os.environ.setdefault("CALSYNC_LOG_LEVEL", "WARNING")
for name in ("DATABASE_URL", "CELERY_BROKER_URL"):
    os.environ.pop(name, None)

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from calsync.testing.outage import OutageWorld  # noqa: E402
from calsync.testing.servers import start_radicale, start_xandikos  # noqa: E402
from calsync.testing.workers import database_url, launch_celery_worker  # noqa: E402
from jobs.followups import sync_followups_start_due  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outage", type=float, default=35.0, help="seconds the destination stays stopped")
    parser.add_argument("--items", type=int, default=120, help="objects in the source calendar")
    parser.add_argument("--dest", choices=("radicale", "xandikos"), default="radicale")
    parser.add_argument("--backoff", default="5,10,20", help="CALSYNC_FOLLOWUP_BACKOFF for the worker")
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    source = start_radicale()
    dest = start_radicale() if args.dest == "radicale" else start_xandikos()
    worker = None
    try:
        worker = launch_celery_worker(
            database=database_url(connection.settings_dict),
            log_dir=Path(tempfile.mkdtemp(prefix="calsync-bench-worker-")),
            concurrency=3,
            env={
                "CALSYNC_FOLLOWUP_BACKOFF": args.backoff,
                "CALSYNC_WRITES_PER_SERVER": "3",
                "CALSYNC_LOG_LEVEL": "WARNING",
            },
        )
        # Staff: the servers are on loopback, which only staff-owned accounts may reach.
        owner = User.objects.create_user(f"bench-{time.time_ns()}", is_staff=True)
        world = OutageWorld(owner=owner, source=source, dest=dest, items=args.items)
        started = time.monotonic()
        runs = world.start()
        world.wait_until_all_write(runs)
        world.outage(args.outage, sweep=sync_followups_start_due)
        world.wait_until_landed(sweep=sync_followups_start_due, timeout=max(600, args.outage * 5))
        for mode in world.jobs:
            assert world.contents(mode, dest=True) == world.contents(dest=False), f"{mode}: not identical"
        print(f"destination: {args.dest}; follow-up backoff: {args.backoff} s")
        print("\n".join(world.figures.lines()))
        print(f"whole scenario: {time.monotonic() - started:.1f} s; every object present once and identical")
    finally:
        if worker is not None:
            worker.stop()
        source.stop()
        dest.stop()


if __name__ == "__main__":
    main()
