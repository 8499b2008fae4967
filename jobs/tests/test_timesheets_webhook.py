"""Zammad's webhook: signature check, coalescing, follow-up runs, and one-ticket syncs through a real worker."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from jobs.models import SyncRun
from jobs.tests.timesheet_world import World, build_world
from jobs.timesheets.models import PendingTicket, WebhookEndpoint
from jobs.timesheets.webhook import signature_valid, webhook_followup_start

SECRET = "zammad-signature-token"


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()


def payload(ticket_id: int) -> bytes:
    return json.dumps({"ticket": {"id": ticket_id, "number": "53001", "title": "x"}, "article": {}}).encode()


def deliver(client: Client, endpoint: WebhookEndpoint, body: bytes, signature: str | None):
    headers = {"HTTP_X_HUB_SIGNATURE": signature} if signature is not None else {}
    return client.post(
        f"/api/webhooks/zammad/{endpoint.token}",
        data=body,
        content_type="application/json; charset=utf-8",
        HTTP_USER_AGENT="Zammad User Agent",
        HTTP_X_ZAMMAD_TRIGGER="time sync",
        **headers,
    )


def test_the_signature_is_hmac_sha1_of_the_exact_body():
    body = b'{"ticket":{"id":1}}'
    assert signature_valid(secret=SECRET, body=body, header=sign(body))
    assert not signature_valid(secret=SECRET, body=body + b" ", header=sign(body))
    assert not signature_valid(secret=SECRET, body=body, header=sign(body, "other"))
    assert not signature_valid(secret=SECRET, body=body, header=None)
    assert not signature_valid(secret=SECRET, body=body, header=sign(body).removeprefix("sha1="))


@pytest.fixture
def world(db) -> World:
    built = build_world(User.objects.create_user("owner"))
    yield built
    built.stop()


@pytest.mark.django_db
def test_an_unsigned_or_wrongly_signed_delivery_is_refused_and_queues_nothing(world):
    endpoint = WebhookEndpoint.objects.create(job=world.job, secret=SECRET)
    body = payload(world.ticket)
    client = Client(enforce_csrf_checks=True)
    assert deliver(client, endpoint, body, None).status_code == 401
    assert deliver(client, endpoint, body, sign(body, "wrong")).status_code == 401
    assert deliver(client, endpoint, body, sign(b"another body")).status_code == 401
    assert not SyncRun.objects.exists()
    assert not PendingTicket.objects.exists()
    unknown = Client().post("/api/webhooks/zammad/unknown-token", data=body, content_type="application/json")
    assert unknown.status_code == 404


@pytest.mark.django_db
def test_twenty_identical_deliveries_coalesce_into_one_run(world):
    endpoint = WebhookEndpoint.objects.create(job=world.job, secret=SECRET)
    body = payload(world.ticket)
    answers = [deliver(Client(), endpoint, body, sign(body)) for _ in range(20)]
    assert {a.status_code for a in answers} == {202}
    assert SyncRun.objects.filter(job=world.job).count() == 1
    assert SyncRun.objects.get().trigger == "webhook"
    pending = PendingTicket.objects.get(job=world.job)
    assert (pending.ticket_id, pending.deliveries) == (world.ticket, 20)


@pytest.mark.broker
@pytest.mark.django_db(transaction=True)
def test_a_signed_webhook_syncs_that_one_ticket_through_the_worker_within_seconds(world, start_celery_worker):
    mine = world.account(30)
    world.account(20, ticket=world.other_ticket)  # another ticket: not part of this sync
    endpoint = WebhookEndpoint.objects.create(job=world.job, secret=SECRET)
    start_celery_worker()
    body = payload(world.ticket)
    assert deliver(Client(), endpoint, body, sign(body)).status_code == 202
    deadline = time.monotonic() + 60
    run = SyncRun.objects.get(job=world.job)
    while run.status not in ("completed", "failed") and time.monotonic() < deadline:
        time.sleep(0.2)
        run.refresh_from_db()
    assert (run.status, run.created, run.error) == ("completed", 1, "")
    assert [t["description"] for t in world.kimai.state.timesheets.values()] == [
        f"Zammad #53001 Printer on fire [zammad-ta-{mine}]"
    ]
    assert not PendingTicket.objects.exists()
    assert "/api/v1/time_accountings" not in {r.path for r in world.zammad.requests}  # per ticket only


@pytest.mark.django_db
def test_deliveries_during_a_running_run_start_one_follow_up_run_when_it_ends(world):
    endpoint = WebhookEndpoint.objects.create(job=world.job, secret=SECRET)
    busy = SyncRun.objects.create(job=world.job, status="running", trigger="schedule", started_at=timezone.now())
    for ticket in (world.ticket, world.other_ticket, world.ticket):  # a burst, one ticket twice
        answer = deliver(Client(), endpoint, payload(ticket), sign(payload(ticket)))
        assert (answer.status_code, answer.json()["run"]) == (202, busy.pk)
    assert SyncRun.objects.filter(job=world.job).count() == 1  # nothing waits for the schedule, nothing doubles

    SyncRun.objects.filter(pk=busy.pk).update(status="completed", finished_at=timezone.now())
    follow_up = webhook_followup_start(job=world.job, after=busy.started_at)

    assert follow_up is not None and (follow_up.trigger, follow_up.status) == ("webhook", "queued")
    assert webhook_followup_start(job=world.job, after=busy.started_at) is None  # coalesced into that one
    assert sorted(PendingTicket.objects.values_list("ticket_id", flat=True)) == [world.ticket, world.other_ticket]


@pytest.mark.django_db
def test_a_failed_run_does_not_restart_itself_for_tickets_it_already_had(world):
    PendingTicket.objects.create(job=world.job, ticket_id=world.ticket)
    failed = SyncRun.objects.create(job=world.job, status="failed", trigger="webhook", started_at=timezone.now())
    assert webhook_followup_start(job=world.job, after=failed.started_at) is None


@pytest.mark.broker
@pytest.mark.django_db(transaction=True)
def test_a_ticket_delivered_while_a_run_is_running_is_synced_by_a_follow_up_run(world, start_celery_worker):
    first, second = world.account(30), world.account(20, ticket=world.other_ticket)
    endpoint = WebhookEndpoint.objects.create(job=world.job, secret=SECRET)
    world.kimai.delay = 0.4  # every Kimai answer takes a while, so the first run is caught running
    start_celery_worker()
    answer = deliver(Client(), endpoint, payload(world.ticket), sign(payload(world.ticket)))
    run = SyncRun.objects.get(pk=answer.json()["run"])
    world.zammad.reset_log()
    deadline = time.monotonic() + 60
    while not world.zammad.requests and time.monotonic() < deadline:  # it has read its pending tickets
        time.sleep(0.05)

    during = deliver(Client(), endpoint, payload(world.other_ticket), sign(payload(world.other_ticket)))

    assert during.json()["run"] == run.pk  # it arrived while the first run was running
    while time.monotonic() < deadline:
        runs = list(SyncRun.objects.filter(job=world.job).order_by("id"))
        if len(runs) == 2 and runs[1].status in ("completed", "failed"):
            break
        time.sleep(0.2)
    assert [(r.trigger, r.status, r.created, r.error) for r in runs] == [
        ("webhook", "completed", 1, ""),
        ("webhook", "completed", 1, ""),
    ]
    markers = sorted(t["description"].split("[")[-1] for t in world.kimai.state.timesheets.values())
    assert markers == sorted([f"zammad-ta-{first}]", f"zammad-ta-{second}]"])
    assert not PendingTicket.objects.exists()


def deliver_once(endpoint: WebhookEndpoint, body: bytes, delivery: str, signature: str | None = None):
    return Client().post(
        f"/api/webhooks/zammad/{endpoint.token}", data=body, content_type="application/json",
        HTTP_X_HUB_SIGNATURE=signature or sign(body), HTTP_X_ZAMMAD_DELIVERY=delivery,
    )  # fmt: skip


@pytest.mark.django_db
def test_a_replayed_delivery_is_a_200_no_op_and_a_new_delivery_id_is_accepted(world):
    endpoint = WebhookEndpoint.objects.create(job=world.job, secret=SECRET)
    body = payload(world.ticket)
    delivery = f"delivery-{uuid.uuid4()}"

    first = deliver_once(endpoint, body, delivery)
    replays = [deliver_once(endpoint, body, delivery) for _ in range(3)]
    fresh = deliver_once(endpoint, body, f"delivery-{uuid.uuid4()}")

    assert first.status_code == 202
    assert [r.status_code for r in replays] == [200, 200, 200]
    assert replays[0].json() == {"ticket": world.ticket, "run": None, "duplicate": True}
    assert fresh.status_code == 202
    assert PendingTicket.objects.get(job=world.job).deliveries == 2  # the first and the fresh one only


@pytest.mark.django_db
def test_an_unsigned_delivery_does_not_use_up_its_delivery_id(world):
    endpoint = WebhookEndpoint.objects.create(job=world.job, secret=SECRET)
    body = payload(world.ticket)
    delivery = f"delivery-{uuid.uuid4()}"

    forged = deliver_once(endpoint, body, delivery, signature=sign(body, "guess"))
    genuine = deliver_once(endpoint, body, delivery)

    assert (forged.status_code, genuine.status_code) == (401, 202)


@pytest.mark.django_db
def test_a_delivery_id_is_forgotten_after_the_window(world, settings):
    settings.CALSYNC_WEBHOOK_DEDUP_SECONDS = 1
    endpoint = WebhookEndpoint.objects.create(job=world.job, secret=SECRET)
    body = payload(world.ticket)
    delivery = f"delivery-{uuid.uuid4()}"

    assert deliver_once(endpoint, body, delivery).status_code == 202
    time.sleep(1.5)

    assert deliver_once(endpoint, body, delivery).status_code == 202
