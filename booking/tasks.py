"""Celery tasks: thin wrappers that load ids and call a service."""

from __future__ import annotations

import logging
from datetime import datetime

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

from accounts.connectors.base import TransientError
from booking.models import Artist
from booking.pushes import appointment_push
from booking.services import busy_pull_artist

logger = logging.getLogger(__name__)


@shared_task(
    name="booking.push_appointment",
    autoretry_for=(TransientError,),
    retry_backoff=10,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=50,  # about eight hours at the cap: long enough to outlast a server's maintenance
)
def appointment_push_task(appointment_id: int) -> str:
    """Write the appointment's current state to the artist's calendar; a missing row is a skip."""
    return appointment_push(appointment_id=appointment_id)


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
