"""Benchmark: an unchanged `manage.py sync_accounts` re-run, as a user types it.

Seeds Radicale with a calendar (100 events) and an address book (50 contacts), copies them to
Xandikos once, then times fresh `python manage.py sync_accounts --source … --destination …`
processes with nothing to do. The figure is the whole command: interpreter start, Django
set-up, listing both servers, planning, and the summary. Also prints `manage.py help`'s time, the
floor of any Django command here.

Usage: python bench/cli_bench.py [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA_DIR = tempfile.mkdtemp(prefix="calsync-cli-bench-")
os.environ["CALSYNC_DATA_DIR"] = DATA_DIR
os.environ.pop("DATABASE_URL", None)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "calsync.settings")
os.environ.setdefault("CALSYNC_LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402

from accounts.connectors import connector_for  # noqa: E402
from accounts.connectors.base import AccountConfig  # noqa: E402
from accounts.models import Account  # noqa: E402
from calsync.testing import samples  # noqa: E402
from calsync.testing.servers import DavServer, start_radicale, start_xandikos  # noqa: E402


def seed(server: DavServer, events: int, contacts: int) -> None:
    calendars = connector_for(AccountConfig("caldav", server.url, server.username, server.password))
    cards = connector_for(AccountConfig("carddav", server.url, server.username, server.password))
    calendar = calendars.create_collection(name="Work", kind="calendar", components=("VEVENT", "VTODO"))
    book = cards.create_collection(name="People", kind="addressbook")
    for data in samples.calendar_objects(events):
        calendars.put(calendar, data)
    for data in samples.contacts(contacts):
        cards.put(book, data)


def timed(argv: list[str]) -> float:
    env = {**os.environ, "CALSYNC_DATA_DIR": DATA_DIR}
    started = time.perf_counter()
    result = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    options = parser.parse_args()

    call_command("migrate", verbosity=0)
    owner = User.objects.create_user("bench", is_staff=True)
    source_server, dest_server = start_radicale(), start_xandikos()
    try:
        seed(source_server, events=100, contacts=50)
        for name, server in (("source", source_server), ("destination", dest_server)):
            Account.objects.create(
                owner=owner, name=name, kind="caldav", url=server.url,
                username=server.username, password=server.password,
            )  # fmt: skip
        command = [sys.executable, "manage.py", "sync_accounts", "--source", "source", "--destination", "destination"]
        timed([*command, "--create-collections"])  # the first copy; not measured
        helps = [timed([sys.executable, "manage.py", "help"]) for _ in range(options.runs)]
        reruns = [timed(command) for _ in range(options.runs)]
    finally:
        source_server.stop()
        dest_server.stop()
    print(f"manage.py help:                  median {statistics.median(helps):.3f} s (min {min(helps):.3f})")
    print(
        f"unchanged sync_accounts re-run:  median {statistics.median(reruns):.3f} s "
        f"(min {min(reruns):.3f}, max {max(reruns):.3f}, {options.runs} runs; target <= 1.0 s)"
    )


if __name__ == "__main__":
    main()
