"""Celery tasks: thin wrappers that load ids and call a service."""

from __future__ import annotations

import logging
from datetime import datetime

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

from booking.models import Artist
from booking.pushes import PushOwed, appointment_push, appointment_pushes_claim_due
from booking.services import busy_pull_artist
from calsync.queue import enqueue_now

logger = logging.getLogger(__name__)


@shared_task(
    name="booking.push_appointment",
    bind=True,
    # The retries cover a short outage quickly; past them the push stays owed on the appointment
    # and the sweep below carries on, so the budget only bounds how long one message lives.
    max_retries=20,
    soft_time_limit=300,
    time_limit=360,
)
def appointment_push_task(self, appointment_id: int) -> str:
    """Write the appointment's current state to the artist's calendar; a missing row is a skip."""
    try:
        return appointment_push(appointment_id=appointment_id)
    except PushOwed as owed:
        raise self.retry(exc=owed, countdown=owed.retry_in) from None


@shared_task(name="booking.push_owed", soft_time_limit=50, time_limit=55)
def appointment_push_owed_task() -> int:
    """The periodic sweep (beat, every minute): queue every owed push that is due."""
    claimed = appointment_pushes_claim_due()
    for appointment_id in claimed:
        enqueue_now(appointment_push_task, appointment_id)
    return len(claimed)


def _window(start: str | None, end: str | None) -> tuple[datetime, datetime] | None:
    # Task arguments travel as JSON: ISO strings in, aware datetimes out.
    if not (start and end):
        return None
    return datetime.fromisoformat(start), datetime.fromisoformat(end)


@shared_task(name="booking.pull_all")
def busy_pull_all_task(start: str | None = None, end: str | None = None) -> int:
    """The periodic pull (beat, every few minutes), or a manual one over a date range."""
    try:
        return sum(result.ok for result in busy_pull_artist(window=_window(start, end)))
    except SoftTimeLimitExceeded:
        logger.warning("busy pull of all artists stopped by the soft time limit; the next tick goes on")
        return 0


@shared_task(name="booking.pull_artist")
def busy_pull_artist_task(artist_id: int, start: str | None = None, end: str | None = None) -> int:
    artist = Artist.objects.filter(pk=artist_id).first()
    if artist is None:
        return 0
    try:
        return sum(result.ok for result in busy_pull_artist(artist=artist, window=_window(start, end)))
    except SoftTimeLimitExceeded:
        logger.warning("busy pull of artist %s stopped by the soft time limit", artist_id)
        return 0
