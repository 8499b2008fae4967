"""A poison calendar on real CalDAV servers: recurrences an unbounded expander turns into gigabytes.

The busy pull must finish with bounded work and memory, log each poison object's href, and keep the
artist busy for the whole window (a refused booking is recoverable, a double booking is not).
Figures (time, peak memory) come from ``bench/poison_bench.py``; tests assert no timings.
"""

from __future__ import annotations

import logging
import tracemalloc
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from django.conf import settings

from booking.models import BusyBlock
from booking.pulls import busy_pull
from booking.services import availability_check
from booking.tests.conftest import attach_calendar, dav, make_artist, new_calendar, next_week, vevent
from calsync.testing.poison import poison_objects

pytestmark = pytest.mark.django_db

# Generous: an unbounded expansion of one of these objects needs gigabytes.
PEAK_BYTES = 64 * 1024 * 1024


def free(artist, start: datetime) -> bool:
    return availability_check(artist=artist, start=start, end=start + timedelta(hours=1)).verdict.available


def pull_poison(server, uids: list[str], caplog):
    collection = new_calendar(server)
    objects = poison_objects(datetime.now(UTC))
    ordinary = next_week(10, day=3)
    with dav(server) as connector:
        hrefs = {uid: urlsplit(connector.put(collection, objects[uid], uid=uid).href).path for uid in uids}
        connector.put(collection, vevent("ordinary", ordinary, ordinary + timedelta(hours=1)), uid="ordinary")
    artist = make_artist()
    calendar = attach_calendar(artist, server, collection)
    tracemalloc.start()
    try:
        with caplog.at_level(logging.WARNING, logger="booking.pulls"):
            result = busy_pull(calendar=calendar)
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return artist, calendar, result, peak, hrefs


def assert_bounded_and_busy_for_the_window(artist, calendar, result, peak, hrefs, caplog) -> None:
    assert result.ok, result.message
    assert f"{len(hrefs)} too costly to expand" in result.message
    assert peak < PEAK_BYTES
    window_days = settings.CALSYNC_BUSY_WINDOW_DAYS + 1
    for href in hrefs.values():
        assert f"{href} hit the recurrence" in caplog.text
        # One whole-window interval cut into indexable pieces, not one row per second.
        assert 0 < BusyBlock.objects.filter(calendar=calendar, href__endswith=href).count() <= window_days
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    for offset in (timedelta(hours=2), timedelta(days=3), timedelta(days=200), timedelta(days=399)):
        assert not free(artist, now + offset)
    assert BusyBlock.objects.filter(calendar=calendar, uid="ordinary").count() == 1  # the rest still exact


def test_it_pulls_a_secondly_and_a_minutely_poison_from_radicale_bounded_and_busy_for_the_window(radicale, caplog):
    # Radicale refuses COUNT above 10000 itself (its own guard), so the COUNT=10^9 object goes to Xandikos below.
    uids = ["poison-secondly", "poison-minutely-exdates"]
    artist, calendar, result, peak, hrefs = pull_poison(radicale, uids, caplog)
    assert_bounded_and_busy_for_the_window(artist, calendar, result, peak, hrefs, caplog)


def test_it_pulls_every_poison_including_a_billion_count_from_xandikos_bounded_and_busy(xandikos, caplog):
    uids = ["poison-secondly", "poison-minutely-exdates", "poison-count-billion"]
    artist, calendar, result, peak, hrefs = pull_poison(xandikos, uids, caplog)
    assert_bounded_and_busy_for_the_window(artist, calendar, result, peak, hrefs, caplog)


def test_a_soft_time_limit_inside_the_pull_ends_it_cleanly_with_a_log_line(radicale, caplog, monkeypatch):
    from celery.exceptions import SoftTimeLimitExceeded

    from booking import pulls
    from booking.models import CalendarSyncLog
    from booking.tasks import busy_pull_all_task

    collection = new_calendar(radicale)
    start = next_week(9)
    with dav(radicale) as connector:
        connector.put(collection, vevent("a", start, start + timedelta(hours=1)), uid="a")
    calendar = attach_calendar(make_artist(), radicale, collection)

    def out_of_time(*args, **kwargs):
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(pulls, "busy_expansion", out_of_time)
    with caplog.at_level(logging.WARNING):
        assert busy_pull_all_task() == 0
    assert "pull stopped: the task's soft time limit was reached" in caplog.text
    assert "stopped by the soft time limit" in caplog.text
    calendar.refresh_from_db()
    assert not calendar.last_pull_ok and "soft time limit" in calendar.last_error
    assert CalendarSyncLog.objects.filter(calendar=calendar, status=CalendarSyncLog.Status.ERROR).exists()
