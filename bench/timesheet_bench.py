"""Time sheets: plan 10,000 Zammad entries against 10,000 Kimai entries, and count the HTTP
requests of an unchanged full run against the local stand-ins.

    .venv/bin/python bench/timesheet_bench.py [--entries 10000] [--run-entries 2000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("CALSYNC_DATA_DIR", tempfile.mkdtemp(prefix="calsync-bench-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "calsync.settings")
os.environ.setdefault("CALSYNC_LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402

from jobs.timesheets.entries import Desired, KimaiEntry, marker_for  # noqa: E402
from jobs.timesheets.plan import plan_timesheets  # noqa: E402

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def plan_figures(count: int) -> None:
    wanted = [
        Desired(
            str(n),
            n // 3,
            T0 + timedelta(minutes=n),
            900 + n % 7 * 60,
            1,
            2,
            3,
            f"Zammad #{n // 3} Ticket {marker_for(n)}",
        )
        for n in range(count)
    ]
    # Kimai holds most of them (some edited there, some duplicated, some orphaned, some by hand).
    kimai = []
    for n, d in enumerate(wanted[: count - count // 20]):
        duration = d.duration_seconds + (3600 if n % 50 == 0 else 0)
        kimai.append(KimaiEntry(n, d.begin, d.begin + timedelta(seconds=duration), duration, d.description, 1, 2, 3))
    kimai += [KimaiEntry(count + n, T0, T0, 60, "by hand", 1, 2, 3) for n in range(count // 20)]
    links = {d.source_id: d.fingerprint() for d in wanted[: count // 2]}
    known = {d.source_id for d in wanted}
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        plan = plan_timesheets(wanted, kimai, known_source_ids=known, links=links)
        timings.append(time.perf_counter() - started)
    ops = Counter(a.op.value for a in plan.actions)
    print(f"plan {count} Zammad entries against {len(kimai)} Kimai entries (no HTTP):")
    print(f"  median {statistics.median(timings) * 1000:.0f} ms, best {min(timings) * 1000:.0f} ms (target ≤ 1000 ms)")
    print(f"  actions {dict(ops)}, unchanged {plan.unchanged}, made by hand {plan.untouched_by_hand}")


def run_figures(count: int) -> None:
    from jobs.tests.timesheet_world import build_world

    call_command("migrate", verbosity=0)
    owner = User.objects.create_user(f"bench-{time.time_ns()}", is_staff=True)
    world = build_world(owner)
    try:
        for n in range(count):
            world.account(minutes_ago=60 + n, units=15, ticket=world.ticket if n % 2 else world.other_ticket)
        started = time.perf_counter()
        first = world.run()
        first_wall = time.perf_counter() - started
        print(f"first full run with {count} entries: {first.status}, created {first.created} in {first_wall:.1f} s")
        world.zammad.reset_log()
        world.kimai.reset_log()
        started = time.perf_counter()
        again = world.run()
        wall = time.perf_counter() - started
        requests = Counter(f"{r.method} {r.path}" for r in world.zammad.requests + world.kimai.requests)
        print(
            f"unchanged full run: {again.status}, unchanged {again.unchanged}, writes "
            f"{again.created + again.updated + again.deleted}, {wall:.2f} s"
        )
        print(f"  HTTP requests: {sum(requests.values())} in all")
        for name, number in sorted(requests.items()):
            print(f"    {number:4d}  {name}")
    finally:
        world.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--run-entries", type=int, default=2_000)
    options = parser.parse_args()
    plan_figures(options.entries)
    run_figures(options.run_entries)


if __name__ == "__main__":
    main()
