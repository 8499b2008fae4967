"""Appointment pushes through a calendar outage: how many are owed, and how fast they land after.

A real Radicale is stopped (connection refused) while ``--appointments`` bookings, confirmations
and cancellations are made; each push is tried once and stays owed. The server is started again
on the same port with the same data, and the periodic sweep's work (claim what is due, push it)
runs in this process until nothing is owed. Prints the owed count, the time from the restart
until everything landed, pushes per second, and the worst-case wait the settings allow between a
server coming back and a push landing (task retry cap, or the sweep when that retry is lost).
It fails loudly if an event is missing or duplicated on the server.

    PYTHONPATH=. .venv/bin/python bench/booking_push_outage.py [--appointments 200]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta

os.environ.setdefault("CALSYNC_DATA_DIR", tempfile.mkdtemp(prefix="calsync-bench-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "calsync.settings")
os.environ.setdefault("CALSYNC_LOG_LEVEL", "ERROR")
os.environ.setdefault("CALSYNC_HTTP_RETRIES", "0")  # the outage is the point; no waiting in the seam

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.connectors import connector_for  # noqa: E402
from accounts.connectors.base import AccountConfig, TransientError  # noqa: E402
from accounts.models import Account  # noqa: E402
from booking.models import Appointment, Artist, ArtistCalendar  # noqa: E402
from booking.pushes import LEASE_SECONDS, SWEEP_GRACE_SECONDS, appointment_push, appointment_pushes_claim_due  # noqa: E402
from booking.services import appointment_cancel, appointment_confirm, appointment_create  # noqa: E402
from calsync.testing.servers import start_radicale  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--appointments", type=int, default=200)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    server = start_radicale()
    try:
        run(server, args.appointments)
    finally:
        server.stop()


def run(server, count: int) -> None:
    config = AccountConfig(kind="caldav", url=server.url, username=server.username, password=server.password)
    with connector_for(config) as dav:
        collection = dav.create_collection(name="Artist", kind="calendar", components=("VEVENT",))
    tag = uuid.uuid4().hex[:8]  # the database may be a shared one (DATABASE_URL)
    owner = User.objects.create_user(f"studio-{tag}", is_staff=True)
    account = Account.objects.create(
        owner=owner, name="dav", kind="caldav", url=server.url, username=server.username, password=server.password
    )
    always = {str(day): [["00:00", "24:00"]] for day in range(7)}
    artist = Artist.objects.create(name="A", slug=f"a-{tag}", working_hours=always, min_notice_minutes=0)
    ArtistCalendar.objects.create(
        artist=artist, account=account, calendar_url=collection.url, last_pulled_at=timezone.now()
    )

    server.halt()
    base = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=7)
    appointments = []
    for number in range(count):
        start = base + timedelta(hours=2 * number)
        appointment, _ = appointment_create(
            artist=artist, client_name=f"Client {number}", client_email="c@example.org", start=start,
            end=start + timedelta(hours=1),
        )  # fmt: skip
        if number % 3 == 1:
            appointment = appointment_confirm(appointment=appointment)
        elif number % 3 == 2:
            appointment = appointment_cancel(appointment=appointment)
        appointments.append(appointment)
    for appointment in appointments:
        with contextlib.suppress(TransientError):
            appointment_push(appointment_id=appointment.pk)
    mine = Appointment.objects.filter(artist=artist)
    owed = mine.filter(push_state="queued").count()

    server.restart()
    began = time.monotonic()
    rounds = 0
    while mine.filter(push_state="queued").exists():
        rounds += 1
        for appointment_id in appointment_pushes_claim_due(now=timezone.now() + timedelta(days=1)):
            appointment_push(appointment_id=appointment_id)
    landed = time.monotonic() - began

    with connector_for(config) as dav:
        listing = dav.list_items(collection)
        uids = [item.data for item in dav.fetch(collection, list(listing.items))]
    expected = mine.exclude(status="cancelled").count()
    distinct = {next(line for line in data.split(b"\r\n") if line.startswith(b"UID:")) for data in uids}
    if len(uids) != expected or len(distinct) != expected:
        raise SystemExit(f"FAILED: {len(uids)} events ({len(distinct)} UIDs) on the server, {expected} expected")

    cap = settings.CALSYNC_PUSH_RETRY_MAX_SECONDS * 1.1
    print(f"appointments:                  {count} ({expected} on the calendar, {count - expected} cancelled)")
    print(f"owed while the server was down: {owed}")
    print(f"landed after the restart in:    {landed:.2f} s ({rounds} sweep rounds, {owed / landed:.0f} pushes/s)")
    print(f"worst wait, task retry alive:   {cap:.0f} s (retry cap + jitter)")
    print(
        f"worst wait, retry message lost: {cap + SWEEP_GRACE_SECONDS + 60:.0f} s "
        f"(+ sweep grace + beat interval; a lost sweep message adds {LEASE_SECONDS} s)"
    )
    print("events on the server:          all present once")


if __name__ == "__main__":
    main()
