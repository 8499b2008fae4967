"""Zammad's webhook: verify ``X-Hub-Signature`` and queue a sync of the ticket it names.

Zammad signs the exact raw body: ``sha1=<lowercase hex HMAC-SHA1(signature token, body)>``,
sent only when a signature token is configured, so an unsigned delivery is refused (401).
Zammad retries a failed delivery with the same ``X-Zammad-Delivery`` id; a delivery id seen
within ``CALSYNC_WEBHOOK_DEDUP_SECONDS`` is answered 200 and does nothing (``webhook_delivery_claim``,
in the cache: Redis ``SET NX`` in production, so two workers cannot both claim one id).
Replays and bursts coalesce: the ticket joins the job's pending set (one row per ticket) and a
run is started only when the job has none active; the one-active-run-per-job constraint
settles concurrent deliveries. A delivery that finds a run already reading (running or paused)
is not left for the next schedule: when that run's task ends it calls ``webhook_followup_after_run``, which starts
one webhook run for every ticket that arrived meanwhile.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from jobs.models import SyncJob, SyncRun
from jobs.runs import RunStateError, active_run, sync_job_start
from jobs.timesheets.models import PendingTicket, WebhookEndpoint


def signature_valid(*, secret: str, body: bytes, header: str | None) -> bool:
    if not secret or not header or not header.startswith("sha1="):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()
    return hmac.compare_digest(expected, header.removeprefix("sha1=").strip().lower())


def ticket_id_in(body: bytes) -> int | None:
    """The ticket of Zammad's default payload ``{"ticket": {"id": …}, "article": …}``."""
    try:
        payload = json.loads(body)
        return int(payload["ticket"]["id"])
    except (ValueError, KeyError, TypeError, RecursionError):
        return None


def _delivery_key(endpoint: WebhookEndpoint, delivery_id: str) -> str:
    # Hashed: the id is the sender's text, and cache backends limit key length and characters.
    return f"zammad-delivery:{endpoint.pk}:{hashlib.sha256(delivery_id.encode()).hexdigest()}"


def webhook_delivery_claim(*, endpoint: WebhookEndpoint, delivery_id: str) -> bool:
    """True the first time ``delivery_id`` arrives at ``endpoint`` within the window, False for a replay."""
    return cache.add(_delivery_key(endpoint, delivery_id), 1, timeout=settings.CALSYNC_WEBHOOK_DEDUP_SECONDS)


def webhook_delivery_release(*, endpoint: WebhookEndpoint, delivery_id: str) -> None:
    """Forget a claimed delivery that could not be accepted, so Zammad's retry is not dropped."""
    cache.delete(_delivery_key(endpoint, delivery_id))


def webhook_delivery_accept(*, endpoint: WebhookEndpoint, ticket_id: int) -> SyncRun | None:
    job = endpoint.job
    try:
        with transaction.atomic():
            PendingTicket.objects.create(job=job, ticket_id=ticket_id)
    except IntegrityError:
        # A newer ``received_at`` keeps a run that already read this ticket from clearing it.
        PendingTicket.objects.filter(job=job, ticket_id=ticket_id).update(
            deliveries=F("deliveries") + 1, received_at=timezone.now()
        )
    run = active_run(job)
    if run is not None:
        # Queued: it has not read the pending set yet, the ticket rides along. Running or
        # paused: the follow-up run started when it ends takes the ticket.
        return run
    try:
        return sync_job_start(job=job, trigger=SyncRun.Trigger.WEBHOOK)
    except RunStateError:
        return active_run(job)  # a concurrent delivery started it first


def webhook_followup_start(*, job: SyncJob, after: datetime | None) -> SyncRun | None:
    """Start a webhook run for tickets delivered after ``after`` (when the run that just ended
    began) while the job has no active run. Tickets older than that stay for the schedule, so a
    run that fails does not restart itself forever."""
    pending = PendingTicket.objects.filter(job=job)
    if after is not None:
        pending = pending.filter(received_at__gt=after)
    if not pending.exists() or active_run(job) is not None:
        return None
    try:
        return sync_job_start(job=job, trigger=SyncRun.Trigger.WEBHOOK)
    except RunStateError:
        return None  # a delivery started one meanwhile


def webhook_followup_after_run(*, run_id: int) -> SyncRun | None:
    """Called by the run task when it ends, however it ends: a run that finished starts the
    follow-up for tickets delivered meanwhile; a run still queued or running (a retry) does not."""
    run = SyncRun.objects.filter(pk=run_id).select_related("job").first()
    if run is None or run.status not in (SyncRun.Status.COMPLETED, SyncRun.Status.FAILED, SyncRun.Status.CANCELLED):
        return None
    return webhook_followup_start(job=run.job, after=run.started_at or run.created_at)
