"""Figures of one fuzz pass over the whole API (what calsync/tests/test_api_fuzz.py runs).

Migrates a throwaway SQLite database, seeds one object of each kind, starts gunicorn on it and
fuzzes every operation of /api/openapi.json, anonymously and as staff. Prints the cases sent,
the answers by status code, undocumented 5xx answers, schema breaks, and where the time went.

    PYTHONPATH=. .venv/bin/python bench/api_fuzz.py [--examples 6]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

DATA_DIR = Path(tempfile.mkdtemp(prefix="calsync-fuzz-bench-"))
os.environ.setdefault("CALSYNC_DATA_DIR", str(DATA_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "calsync.settings")
os.environ.setdefault("CALSYNC_LOG_LEVEL", "ERROR")
os.environ["DATABASE_URL"] = f"sqlite:///{DATA_DIR / 'fuzz.sqlite3'}"

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

from calsync.testing.fuzz import anonymous_session, fuzz, pins, seed, staff_session  # noqa: E402
from calsync.testing.live import launch_live_app  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=6, help="valid and invalid cases per operation and user")
    examples = parser.parse_args().examples
    call_command("migrate", verbosity=0)
    ids = seed()
    app = launch_live_app(
        database=os.environ["DATABASE_URL"], log_dir=DATA_DIR, env={"CALSYNC_BOOKING_RATE": "100000/hour"}
    )
    try:
        sessions = {
            "anonymous": anonymous_session(app.url),
            "staff": staff_session(app.url, username="fuzz-staff", password="fuzz-staff-password-1"),
        }
        for who, client in sessions.items():
            began = time.monotonic()
            report = fuzz(client, examples=examples, pin=pins(ids))
            took = time.monotonic() - began
            print(
                f"{who:9}  {report.cases:5} cases in {took:5.1f} s ({report.request_seconds:.1f} s waiting for answers)"
                f"  undocumented 5xx: {len(report.server_errors_seen)}  schema breaks: {len(report.failures)}"
            )
            print(f"           by status: {dict(sorted(report.statuses.items()))}")
    finally:
        app.stop()


if __name__ == "__main__":
    main()
