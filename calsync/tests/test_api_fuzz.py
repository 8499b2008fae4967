"""Fuzz the whole API of the live application from its OpenAPI document (schemathesis).

Every operation gets generated valid and invalid requests, anonymously and as a logged-in staff
user, over real HTTP to gunicorn on the test database. No answer may be an undocumented 5xx, and
every answer must match the document (status code, content type, body). The seeded rows give the
generated ids something to hit, so the code behind "not found" is fuzzed too.

Cost: EXAMPLES valid + EXAMPLES invalid cases per operation and user; Hypothesis is derandomized,
so every run sends the same cases and a failure reproduces.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest
from django.contrib.auth import get_user_model
from schemathesis import GenerationMode

from accounts.models import Account
from booking.models import Appointment, Artist, ArtistCalendar
from calsync.testing.fuzz import FuzzReport, anonymous_session, fuzz, staff_session
from feeds.models import IcsFeed
from jobs.models import SyncJob, SyncLog, SyncRun

# Per operation, mode and user: about 600 cases per user and a minute and a half for both tests on
# a loaded 2-core machine. CALSYNC_FUZZ_EXAMPLES=100 digs deeper (locally, before a release).
EXAMPLES = int(os.environ.get("CALSYNC_FUZZ_EXAMPLES", "6"))
# A closed loopback port: a connection test or dry run against it fails at once, without DNS or timeouts.
DEAD_URL = "http://127.0.0.1:9/"


def seed() -> dict[str, str]:
    """One object of each kind the API addresses by id; returns the ids by the path's resource."""
    staff = get_user_model().objects.create_user("fuzz-staff", password="fuzz-staff-password-1", is_staff=True)
    artist = Artist.objects.create(name="Ada", slug="ada", email="ada@example.com", time_zone="Europe/Berlin")
    source = Account.objects.create(owner=staff, name="source", kind="caldav", url=DEAD_URL)
    destination = Account.objects.create(owner=staff, name="destination", kind="caldav", url=DEAD_URL)
    scratch = Account.objects.create(owner=staff, name="scratch", kind="caldav", url=DEAD_URL)
    job = SyncJob.objects.create(owner=staff, name="job", source=source, destination=destination)
    run = SyncRun.objects.create(job=job)
    SyncLog.objects.create(run=run, message="a line")
    feed = IcsFeed.objects.create(owner=staff, path="fuzz-feed", account=source)
    calendar = ArtistCalendar.objects.create(artist=artist, account=source, calendar_url=f"{DEAD_URL}cal/")
    appointment = Appointment.objects.create(
        artist=artist, client_name="Bo", client_email="bo@example.com",
        start=datetime(2031, 3, 4, 10, tzinfo=UTC), end=datetime(2031, 3, 4, 11, tzinfo=UTC),
    )  # fmt: skip
    return {
        "accounts": str(source.pk), "sync-jobs": str(job.pk), "feeds": str(feed.pk),
        "calendars": str(calendar.pk), "appointments": str(appointment.pk), "scratch-account": str(scratch.pk),
    }  # fmt: skip


def pins(ids: dict[str, str]):
    def pin(method: str, path: str, mode: GenerationMode) -> dict:
        if path == "/api/availability":
            return {"query": {"artist": "ada"}}
        if path == "/api/artists/{ref}/slots":
            return {"path_parameters": {"ref": "ada"}}
        if "{id}" not in path or method == "DELETE":  # a deleted seed would turn the rest into 404s
            return {}
        if mode is GenerationMode.NEGATIVE:  # invalid ids are what an invalid case is made of
            return {}
        resource = next((key for key in ids if f"/{key}/" in path), None)
        if resource == "accounts" and method in ("PUT", "PATCH"):
            # Generated hosts would make the connection tests after it wait on DNS.
            resource = "scratch-account"
        return {"path_parameters": {"id": ids[resource]}} if resource else {}

    return pin


def explain(report: FuzzReport) -> str:
    return f"{report.cases} cases {dict(report.statuses)}:\n" + "\n".join(report.failures[:20])


@pytest.fixture
def fuzz_app(start_live_app):
    # Generated bookings must reach the booking code, not the per-address rate limit.
    return start_live_app(env={"CALSYNC_BOOKING_RATE": "100000/hour"})


def test_it_answers_every_generated_anonymous_request_without_a_500_or_a_schema_break(fuzz_app):
    ids = seed()

    report = fuzz(anonymous_session(fuzz_app.url), examples=EXAMPLES, pin=pins(ids))
    print(f"anonymous: {report.cases} cases, {report.request_seconds:.0f} s in requests, {dict(report.statuses)}")

    assert report.cases > 50 * EXAMPLES
    assert report.server_errors_seen == [], "\n".join(report.server_errors_seen)
    assert report.failures == [], explain(report)


def test_it_answers_every_generated_staff_request_without_a_500_or_a_schema_break(fuzz_app):
    ids = seed()
    client = staff_session(fuzz_app.url, username="fuzz-staff", password="fuzz-staff-password-1")

    report = fuzz(client, examples=EXAMPLES, pin=pins(ids))
    print(f"staff: {report.cases} cases, {report.request_seconds:.0f} s in requests, {dict(report.statuses)}")

    assert report.cases > 50 * EXAMPLES
    assert report.statuses[200] > 0
    assert report.server_errors_seen == [], "\n".join(report.server_errors_seen)
    assert report.failures == [], explain(report)
