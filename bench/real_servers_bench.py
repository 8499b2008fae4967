"""Start-up and stop times of the four production test peers (SOGo, Cyrus, DAViCal, sabre/dav).

Starts each server as the ``realservers`` fixtures do, ``--rounds`` times, and prints the median
time until an authenticated PROPFIND on alice's default calendar answers 207 (the fixtures'
readiness), and the time ``stop()`` takes (sogod is killed 2 s after TERM). Needs the packages
from .ci/install-dav-servers.

    PYTHONPATH=. .venv/bin/python bench/real_servers_bench.py [--rounds 3] [--servers sogo cyrus davical sabredav]
"""

from __future__ import annotations

import argparse
import statistics
import time

from calsync.testing.realservers import STARTERS, installed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--servers", nargs="+", default=list(STARTERS), choices=list(STARTERS))
    options = parser.parse_args()
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
