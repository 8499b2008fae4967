"""A private feed's token: long enough to resist guessing, and never written to a log."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from accounts.models import Account
from feeds.models import MIN_TOKEN_LENGTH, IcsFeed
from jobs.models import SyncJob
from jobs.timesheets.models import WebhookEndpoint

pytestmark = pytest.mark.django_db

LONG_TOKEN = "Zx8-privately-shared-feed-token-42"


@pytest.fixture
def owner(db) -> User:
    return User.objects.create_user("feeder", password="feeder-password-1", is_staff=True, is_superuser=True)


@pytest.fixture
def account(owner) -> Account:
    return Account.objects.create(owner=owner, name="dav", kind="caldav", url="https://dav.example.org/")


def test_it_refuses_a_short_feed_token_through_the_api_with_a_clear_400(owner, account):
    api = APIClient()
    api.force_authenticate(owner)

    response = api.post("/api/feeds", {"path": "private", "account": account.pk, "token": "abc123"}, format="json")

    assert response.status_code == 400
    assert f"at least {MIN_TOKEN_LENGTH} characters" in response.json()["token"][0]
    assert not IcsFeed.objects.filter(path="private").exists()


def test_it_refuses_a_short_feed_token_in_the_admin_form(client, owner, account):
    client.force_login(owner)
    form = {
        "owner": owner.pk, "name": "", "path": "private", "source_type": "caldav", "account": account.pk,
        "calendars": "[]", "source_ref": "", "token": "abc123", "interval_minutes": 15,
    }  # fmt: skip

    response = client.post("/admin/feeds/icsfeed/add/", form)

    assert response.status_code == 200  # the form again, with the error
    assert f"at least {MIN_TOKEN_LENGTH} characters" in response.content.decode()
    assert not IcsFeed.objects.filter(path="private").exists()


def test_it_accepts_a_long_token_and_an_empty_one(owner, account):
    api = APIClient()
    api.force_authenticate(owner)

    private = api.post("/api/feeds", {"path": "private", "account": account.pk, "token": LONG_TOKEN}, format="json")
    public = api.post("/api/feeds", {"path": "public", "account": account.pk, "token": ""}, format="json")

    assert (private.status_code, public.status_code) == (201, 201)


def test_the_live_apps_logs_never_show_a_feed_token_or_a_webhook_token(live_app, owner, account):
    IcsFeed.objects.create(owner=owner, path="private", account=account, token=LONG_TOKEN)
    other = Account.objects.create(owner=owner, name="kimai", kind="caldav", url="https://kimai.example.org/")
    job = SyncJob.objects.create(owner=owner, name="tickets", source=account, destination=other)
    endpoint = WebhookEndpoint.objects.create(job=job, secret="hook-signing-secret")

    asked = [
        live_app.request("GET", f"/ics/private.ics?token={LONG_TOKEN}")[0],
        live_app.request("GET", f"/ics/private.ics?token={LONG_TOKEN}x")[0],  # wrong: a 404 Django logs
        live_app.request("POST", f"/api/webhooks/zammad/{endpoint.token}/", body=b"{}")[0],  # unsigned: 401
        live_app.request("POST", "/api/webhooks/zammad/guessed-webhook-token-123/", body=b"{}")[0],
    ]

    log = live_app.output()
    assert asked == [503, 404, 401, 404]  # 503: not rendered yet (no worker here)
    assert LONG_TOKEN not in log
    assert endpoint.token not in log
    assert "guessed-webhook-token-123" not in log
    assert "/ics/private.ics?token=[redacted]" in log
    assert "/api/webhooks/zammad/[redacted]/" in log


def test_djangos_own_request_log_lines_are_redacted_too():
    import logging

    from calsync.logredact import RedactSecrets

    record = logging.LogRecord(
        "django.server",
        logging.INFO,
        __file__,
        1,
        '"%s" %s %s',
        (f"GET /ics/a.ics?token={LONG_TOKEN} HTTP/1.1", 200, 9),
        None,
    )

    assert RedactSecrets().filter(record) is True
    assert LONG_TOKEN not in record.getMessage()
    assert "token=[redacted]" in record.getMessage()
    assert any(isinstance(f, RedactSecrets) for h in logging.getLogger("django.server").handlers for f in h.filters)
