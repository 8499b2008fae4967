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

import pytest

from calsync.testing.fuzz import FuzzReport, anonymous_session, fuzz, pins, seed, staff_session

# Per operation, mode and user: about 600 cases per user and a minute and a half for both tests on
# a loaded 2-core machine. CALSYNC_FUZZ_EXAMPLES=100 digs deeper (locally, before a release).
EXAMPLES = int(os.environ.get("CALSYNC_FUZZ_EXAMPLES", "6"))


def explain(report: FuzzReport) -> str:
    return f"{report.cases} cases {dict(report.statuses)}:\n" + "\n".join(report.failures[:20])


@pytest.fixture
def fuzz_app(start_live_app):
    # Generated bookings must reach the booking code, not the per-address rate limit.
    return start_live_app(env={"CALSYNC_BOOKING_RATE": "100000/hour"})


def test_it_answers_every_generated_anonymous_request_without_a_500_or_a_schema_break(fuzz_app):
    ids = seed()

    report = fuzz(anonymous_session(fuzz_app.url), examples=EXAMPLES, pin=pins(ids))
    print(f"anonymous: {report.cases} cases, {report.request_seconds:.0f} s in requests, {dict(report.statuses)}")  # noqa: T201 - the tally, shown with a failure's captured output

    assert report.cases > 50 * EXAMPLES
    assert report.server_errors_seen == [], "\n".join(report.server_errors_seen)
    assert report.failures == [], explain(report)


def test_it_answers_every_generated_staff_request_without_a_500_or_a_schema_break(fuzz_app):
    ids = seed()
    client = staff_session(fuzz_app.url, username="fuzz-staff", password="fuzz-staff-password-1")

    report = fuzz(client, examples=EXAMPLES, pin=pins(ids))
    print(f"staff: {report.cases} cases, {report.request_seconds:.0f} s in requests, {dict(report.statuses)}")  # noqa: T201 - the tally, shown with a failure's captured output

    assert report.cases > 50 * EXAMPLES
    assert report.statuses[200] > 0
    assert report.server_errors_seen == [], "\n".join(report.server_errors_seen)
    assert report.failures == [], explain(report)
