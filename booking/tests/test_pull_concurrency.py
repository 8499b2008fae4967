"""Two pulls of one artist calendar at once (beat's and a manual one, on two workers): every event
is blocked once, not once per pull.

Real pulls against Radicale, in two threads with their own database connections. The test holds
the calendar's busy rows locked, as a third pull in the middle of its write would, so both pulls
reach their write before either has written; then it lets go and counts the rows they left.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections, transaction

from booking.models import ArtistCalendar, BusyBlock
from booking.pulls import busy_pull
from booking.tests.conftest import attach_calendar, dav, make_artist, new_calendar, next_week, vevent
from calsync.testing.workers import eventually


def _waiting_on_locks() -> int:
    with connections["default"].cursor() as cursor:
        # Asked inside the test's transaction: PostgreSQL would answer from its first snapshot.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
        )
        return cursor.fetchone()[0]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_overlapping_pulls_of_one_calendar_block_each_event_once(radicale):
    if connection.vendor != "postgresql":
        pytest.fail("this test needs PostgreSQL (the second pass of make test)")
    collection = new_calendar(radicale)
    start = next_week(10)
    with dav(radicale) as connector:
        for n in range(3):
            connector.put(
                collection, vevent(f"e{n}", start + timedelta(days=n), start + timedelta(days=n, hours=1)), uid=f"e{n}"
            )
    calendar = attach_calendar(make_artist(), radicale, collection)
    assert busy_pull(calendar=calendar).ok
    window = (start - timedelta(days=1), start + timedelta(days=30))  # re-reads and rewrites every event
    results = []

    def pull() -> None:
        try:
            results.append(busy_pull(calendar=ArtistCalendar.objects.get(pk=calendar.pk), window=window).ok)
        finally:
            connection.close()

    pulls = [threading.Thread(target=pull) for _ in range(2)]
    with transaction.atomic():
        list(BusyBlock.objects.select_for_update().filter(calendar=calendar))
        for thread in pulls:
            thread.start()
        eventually(lambda: _waiting_on_locks() >= 2, timeout=60, what="both pulls to reach their write")
    for thread in pulls:
        thread.join(60)

    assert results == [True, True]
    assert BusyBlock.objects.filter(calendar=calendar).count() == 3
