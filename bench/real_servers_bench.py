"""Start-up and stop times of the four production test peers (SOGo, Cyrus, DAViCal, sabre/dav),
and the migration matrix.

Starts each server as the ``realservers`` fixtures do, ``--rounds`` times, and prints the median
time until an authenticated PROPFIND on alice's default calendar answers 207 (the fixtures'
readiness), and the time ``stop()`` takes (sogod is killed 2 s after TERM). Needs the packages
from .ci/install-dav-servers.

With ``--matrix`` it runs the migration matrix instead (calsync/testing/matrix.py: the real-world
corpus from Radicale into each server through the sync engine, and back out into a fresh
Radicale) and prints, per server and direction, the objects, how many landed, were repaired to
land, were refused, and differ from the server's own copy of a direct upload; then the re-run's
writes, the two-way checks and the time per server (one at a time).

    PYTHONPATH=. .venv/bin/python bench/real_servers_bench.py [--rounds 3] [--servers sogo cyrus davical sabredav]
    PYTHONPATH=. .venv/bin/python bench/real_servers_bench.py --matrix [--servers ... xandikos]
"""

from __future__ import annotations

import argparse
import statistics
import time

from calsync.testing.matrix import MatrixRun, run_matrix, summary
from calsync.testing.realservers import STARTERS, installed
from calsync.testing.servers import start_radicale, start_xandikos


def matrix(servers: list[str]) -> None:
    old = start_radicale(fsync=False)
    runs: list[MatrixRun] = []
    timings: dict[str, float] = {}
    try:
        for name in servers:
            if name != "xandikos" and (missing := installed(name)):
                print(f"{name:<10} not installed ({missing} missing): run .ci/install-dav-servers")
                continue
            server = start_xandikos() if name == "xandikos" else STARTERS[name]()
            began = time.monotonic()
            try:
                runs.append(run_matrix(server, old, name=name))
            finally:
                timings[name] = time.monotonic() - began
                server.stop()
    finally:
        old.stop()
    print("\n".join(summary(runs)))
    print()
    for run in runs:
        failed = [check for check, ok in run.two_way.items() if not ok]
        print(
            f"{run.server:<10} re-run writes {run.rerun_writes}, two-way {len(run.two_way) - len(failed)}/"
            f"{len(run.two_way)} checks{' (failed: ' + ', '.join(failed) + ')' if failed else ''}, "
            f"{timings[run.server]:.1f} s"
        )
        for direction in (run.inbound, run.outbound):
            for refusal in direction.refusals:
                print(f"  refused ({direction.direction}): {refusal}")
            for href, repairs in direction.repairs.items():
                print(f"  repaired ({direction.direction}) {href.rsplit('/', 1)[-1]}: {'; '.join(repairs)}")
            for uid, (absent, extra) in direction.differences.items():
                print(f"  unequal ({direction.direction}) {uid}: missing {absent}, extra {extra}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    names = [*STARTERS, "xandikos"]
    parser.add_argument("--servers", nargs="+", default=None, choices=names)
    parser.add_argument("--matrix", action="store_true", help="run the migration matrix instead")
    options = parser.parse_args()
    if options.matrix:
        matrix(options.servers or names)
        return
    options.servers = [name for name in options.servers or STARTERS if name in STARTERS]
    print(f"{'server':<10} {'start (median)':>15} {'start (max)':>12} {'stop (median)':>14}")
    for name in options.servers:
        if missing := installed(name):
            print(f"{name:<10} not installed ({missing} missing): run .ci/install-dav-servers")
            continue
        starts, stops = [], []
        for _ in range(options.rounds):
            server = STARTERS[name]()
            starts.append(server.startup_seconds)
            began = time.monotonic()
            server.stop()
            stops.append(time.monotonic() - began)
        start, slowest, stop = statistics.median(starts), max(starts), statistics.median(stops)
        print(f"{name:<10} {start:>13.2f} s {slowest:>10.2f} s {stop:>12.2f} s")


if __name__ == "__main__":
    main()
