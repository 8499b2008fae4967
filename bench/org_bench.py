"""Benchmark: a whole organisation migrated at once by 1, 2 and 4 worker processes.

200 users x 200 calendar objects by default: one source account, one destination account and one
copy job per user, created through the services, all started at once. Source and destination are
latency servers (``calsync.testing.latency_dav``): every request waits ``--delay`` seconds and costs
almost no CPU, as a remote server would, so the figures measure calsync. The workers are real
``celery worker`` processes (``--concurrency 1`` each) on PostgreSQL and Redis; the database is
the bench's own, flushed before each round.

Prints per worker count: total time, items per second, speed-up over one worker, database queries
per item (counted in the pool processes by ``calsync.testing.worker_stats``, with the statements
that dominate), and peak memory per worker; then what a 5,000-user organisation would take by the
same figures.

Usage: python bench/org_bench.py [--users 200] [--objects 200] [--workers 1,2,4] [--delay 0.02]
                                 [--cap N] [--database postgres://…] [--redis redis://…] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432/calsync_bench_scale"
DEFAULT_REDIS = "redis://127.0.0.1:6379/5"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--objects", type=int, default=200, help="calendar objects per user")
    parser.add_argument("--workers", default="1,2,4", help="worker process counts to measure, comma-separated")
    parser.add_argument("--delay", type=float, default=0.02, help="seconds each server request waits")
    parser.add_argument("--cap", type=int, default=0, help="CALSYNC_WRITES_PER_SERVER (default: the most workers)")
    parser.add_argument("--database", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE))
    parser.add_argument("--redis", default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS))
    parser.add_argument("--quick", action="store_true", help="20 users x 50 objects with 1 and 2 workers")
    args = parser.parse_args()
    if args.quick:
        args.users, args.objects, args.workers = 20, 50, "1,2"
    args.workers = [int(n) for n in args.workers.split(",")]
    args.cap = args.cap or max(args.workers)
    return args


ARGS = parse_args()
os.environ["DATABASE_URL"] = ARGS.database
os.environ["CELERY_BROKER_URL"] = ARGS.redis
os.environ.setdefault("CALSYNC_DATA_DIR", tempfile.mkdtemp(prefix="calsync-bench-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "calsync.settings")
os.environ.setdefault("CALSYNC_LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

import psycopg  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from calsync.celery import app  # noqa: E402
from calsync.testing.latency_dav import LatencyDavServer  # noqa: E402
from calsync.testing.organisation import Organisation  # noqa: E402
from calsync.testing.worker_stats import peak_memory_kib  # noqa: E402
from calsync.testing.workers import CeleryWorkerProcess, launch_celery_worker  # noqa: E402


@dataclass
class Round:
    workers: int
    seconds: float
    items: int
    queries: int
    statements: dict[str, int]
    peak_mib: float  # the largest worker: its main process plus its pool process
    failed: int
    load: float  # the machine's 1-minute load average when the round ended

    @property
    def rate(self) -> float:
        return self.items / self.seconds


def ensure_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            admin.execute(f'CREATE DATABASE "{name}"')


def measure(workers: int, args: argparse.Namespace) -> Round:
    call_command("flush", interactive=False, verbosity=0)
    app.control.purge()
    source, dest = LatencyDavServer(delay=args.delay).start(), LatencyDavServer(delay=args.delay).start()
    stats_dir = Path(tempfile.mkdtemp(prefix="calsync-bench-stats-"))
    started: list[CeleryWorkerProcess] = []
    try:
        owner = User.objects.create_user("bench", is_staff=True)  # staff: the servers are on loopback
        org = Organisation(owner, source, dest, users=args.users, objects=args.objects).create()
        env = {"CALSYNC_WRITES_PER_SERVER": str(args.cap), "CALSYNC_WORKER_STATS_DIR": str(stats_dir),
               "CALSYNC_LOG_LEVEL": "WARNING"}  # fmt: skip
        started.extend(
            launch_celery_worker(
                database=args.database, log_dir=stats_dir, concurrency=1,
                extra_args=("--include", "calsync.testing.worker_stats"), env=env,
            )
            for _ in range(workers)
        )  # fmt: skip
        began = time.monotonic()
        org.start()
        while not org.finished():
            time.sleep(0.25)
        seconds = time.monotonic() - began
        runs = org.runs()
        peaks = [peak_memory_kib(worker.process.pid) for worker in started]
        load = os.getloadavg()[0]
    finally:
        for worker in started:
            worker.stop()
        source.stop()
        dest.stop()
    children = [json.loads(path.read_text()) for path in stats_dir.glob("*.json")]
    statements: dict[str, int] = {}
    for child in children:
        for shape, count in child["statements"].items():
            statements[shape] = statements.get(shape, 0) + count
    child_peaks = sorted((c["peak_kib"] for c in children), reverse=True) or [0]
    misplaced = org.misplaced()
    if misplaced:
        print(f"  WARNING: {len(misplaced)} users not migrated exactly: {list(misplaced.items())[:3]}")
    return Round(
        workers=workers,
        seconds=seconds,
        items=sum(r.created for r in runs),
        queries=sum(c["queries"] for c in children),
        statements=statements,
        peak_mib=(max(peaks) + child_peaks[0]) / 1024,
        failed=sum(r.status != "completed" for r in runs),
        load=load,
    )


def report(rounds: list[Round], args: argparse.Namespace) -> None:
    base = rounds[0]
    print(f"\n{args.users} users x {args.objects} objects, {args.delay * 1000:.0f} ms per request, "
          f"write cap {args.cap} per server, {os.cpu_count()} CPUs")  # fmt: skip
    columns = ("workers", "time s", "items/s", "speed-up", "queries/item", "peak MiB", "failed", "load")
    print(" ".join(f"{name:>{max(len(name), 7)}}" for name in columns))
    for r in rounds:
        print(
            f"{r.workers:>7} {r.seconds:>7.1f} {r.rate:>7.1f} {r.rate / base.rate * base.workers:>7.2f}x "
            f"{r.queries / max(r.items, 1):>12.2f} {r.peak_mib:>8.0f} {r.failed:>7} {r.load:>7.1f}"
        )
    last = rounds[-1]
    print(f"\nstatements per item ({last.workers} workers):")
    for shape, count in sorted(last.statements.items(), key=lambda kv: -kv[1])[:10]:
        print(f"  {count / max(last.items, 1):6.3f}  {shape}")
    best = max(rounds, key=lambda r: r.rate)
    items = 5000 * args.objects
    hours = items / best.rate / 3600
    print(
        f"\n5,000 users x {args.objects} objects = {items:,} items: {hours:.1f} h at {best.rate:.0f} items/s "
        f"({best.workers} workers, cap {args.cap}); {items * best.queries / max(best.items, 1):,.0f} queries"
    )
    # One run writes one item at a time, so a destination server's cap bounds the throughput at
    # cap x one run's rate, however many workers there are.
    per_run = base.rate / base.workers
    for cap in (2, 8, 16):
        hours = items / (cap * per_run) / 3600
        print(f"  with {cap} writers per destination server (and >= {cap} workers): {hours:.1f} h")


def main() -> None:
    try:
        ensure_database(ARGS.database)
    except psycopg.OperationalError as exc:
        sys.exit(f"org_bench needs PostgreSQL and Redis (--database, --redis): {exc}")
    call_command("migrate", verbosity=0)
    connection.close()
    rounds = []
    for workers in ARGS.workers:
        print(f"measuring {workers} worker(s)…", flush=True)
        rounds.append(measure(workers, ARGS))
    report(rounds, ARGS)


if __name__ == "__main__":
    main()
