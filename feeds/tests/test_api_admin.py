"""The feeds API (owner-scoped CRUD, sync, status) and the admin (public URL, sync now)."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from accounts.models import Account
from feeds.models import IcsFeed

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(db) -> User:
    return User.objects.create_user(f"alice-{uuid.uuid4().hex[:6]}")


@pytest.fixture
def api(alice) -> APIClient:
    client = APIClient()
    client.force_authenticate(alice)
    return client


@pytest.fixture
def account(alice, radicale) -> Account:
    return Account.objects.create(
        owner=alice, name="dav", kind="caldav", url=radicale.url, username=radicale.username, password=radicale.password
    )


def test_create_renders_on_commit_and_status_reports_it(api, account, eager_tasks, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        body = {"path": "/work.ics", "account": account.pk, "token": "tok-123-a-long-enough-one"}
        response = api.post("/api/feeds", body, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["path"] == "work" and body["has_token"] is True and "token" not in body
    assert body["url"] == "http://testserver/ics/work.ics?token=tok-123-a-long-enough-one"
    status = api.get(f"/api/feeds/{body['id']}/status").json()
    assert status["last_synced_at"] and status["last_error"] == "" and status["url"] == body["url"]


def test_sync_rerenders_now(api, account, eager_tasks, django_capture_on_commit_callbacks):
    feed = IcsFeed.objects.create(owner=account.owner, path="now", account=account)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"/api/feeds/{feed.pk}/sync/")
    assert response.status_code == 202
    feed.refresh_from_db()
    assert feed.last_synced_at and feed.etag


def test_feeds_are_owner_scoped(api, account, alice):
    bob = User.objects.create_user(f"bob-{uuid.uuid4().hex[:6]}")
    bobs_account = Account.objects.create(owner=bob, name="b", kind="caldav", url="https://dav.example.org/")
    bobs = IcsFeed.objects.create(owner=bob, path="bobs", account=bobs_account)
    mine = IcsFeed.objects.create(owner=alice, path="mine", account=account)
    assert [f["id"] for f in api.get("/api/feeds").json()["results"]] == [mine.pk]
    assert api.get(f"/api/feeds/{bobs.pk}").status_code == 404
    assert api.post(f"/api/feeds/{bobs.pk}/sync").status_code == 404
    refused = api.post("/api/feeds", {"path": "steal", "account": bobs_account.pk}, format="json")
    assert refused.status_code == 400 and "account" in refused.json()
    assert api.patch(f"/api/feeds/{mine.pk}", {"interval_minutes": 5}, format="json").json()["interval_minutes"] == 5
    assert api.post("/api/feeds", {"path": "mine", "account": account.pk}, format="json").status_code == 400
    assert api.delete(f"/api/feeds/{mine.pk}").status_code == 204


def test_the_admin_shows_the_public_url_with_a_copy_button(admin_client, account):
    feed = IcsFeed.objects.create(owner=account.owner, path="studio/anna", account=account, token="t0k")
    page = admin_client.get(f"/admin/feeds/icsfeed/{feed.pk}/change/").content.decode()
    assert 'value="http://testserver/ics/studio/anna.ics?token=t0k"' in page and ">Copy</button>" in page


def test_the_admin_sync_now_action_renders_the_feed(
    admin_client, account, eager_tasks, django_capture_on_commit_callbacks
):
    feed = IcsFeed.objects.create(owner=account.owner, path="act", account=account)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/feeds/icsfeed/", {"action": "sync_now", "_selected_action": [feed.pk]}, follow=True
        )
    assert "queued for rendering" in response.content.decode()
    feed.refresh_from_db()
    assert feed.last_synced_at and feed.last_error == ""


@pytest.mark.parametrize("calendars", ["https://dav.example.org/alice/work/", {"url": "x"}, [["nested"]], [""]])
def test_it_refuses_calendars_that_are_not_a_list_of_urls(api, account, calendars):
    response = api.post("/api/feeds", {"path": "typo", "account": account.pk, "calendars": calendars}, format="json")

    assert response.status_code == 400, response.content
    assert "calendars" in response.json()
    assert not IcsFeed.objects.filter(path="typo").exists()


def test_it_refuses_a_string_of_calendars_on_change_too(api, account):
    feed = IcsFeed.objects.create(owner=account.owner, path="kept", account=account, calendars=["https://a/cal/"])

    response = api.patch(f"/api/feeds/{feed.pk}", {"calendars": "https://b/cal/"}, format="json")

    assert response.status_code == 400
    assert "list of calendar URLs" in str(response.json()["calendars"])
    feed.refresh_from_db()
    assert feed.calendars == ["https://a/cal/"]


def test_it_accepts_a_list_of_calendar_urls(api, account):
    response = api.post(
        "/api/feeds", {"path": "listed", "account": account.pk, "calendars": ["https://a/cal/"]}, format="json"
    )

    assert response.status_code == 201, response.content
    assert response.json()["calendars"] == ["https://a/cal/"]
