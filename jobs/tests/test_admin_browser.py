"""The admin in headless Chromium: a run page that updates itself, a connection test button."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from accounts.models import Account
from jobs.models import SyncJob, SyncLog, SyncRun

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_run_page_follows_a_running_run_without_reloading(admin_page, live_server, admin_user):
    source = Account.objects.create(owner=admin_user, name="old", kind="caldav", url="http://127.0.0.1:1/")
    dest = Account.objects.create(owner=admin_user, name="new", kind="caldav", url="http://127.0.0.1:2/")
    job = SyncJob.objects.create(owner=admin_user, name="move", source=source, destination=dest)
    run = SyncRun.objects.create(job=job, status="running", progress_done=1, progress_total=10)
    SyncLog.objects.create(run=run, message="run started")

    admin_page.goto(f"{live_server.url}/admin/jobs/syncrun/{run.pk}/change/")
    expect(admin_page.locator("#run-done")).to_have_text("1")
    admin_page.evaluate("window.notReloaded = true")

    SyncRun.objects.filter(pk=run.pk).update(progress_done=7, created=7)
    SyncLog.objects.create(run=run, level="error", message="refused by the server (409)", item="/cal/x.ics")
    expect(admin_page.locator("#run-done")).to_have_text("7", timeout=10_000)
    expect(admin_page.locator(".calsync-log")).to_contain_text("refused by the server (409)")
    expect(admin_page.locator("#run-counters")).to_contain_text("created 7")

    SyncRun.objects.filter(pk=run.pk).update(status="completed", progress_done=10)
    expect(admin_page.locator("#run-status")).to_have_text("completed", timeout=10_000)
    assert admin_page.evaluate("window.notReloaded") is True
    assert admin_page.locator("#run-bar").evaluate("e => e.style.width") == "100%"


def test_the_connection_test_button_shows_the_diagnosis(admin_page, live_server, admin_user, radicale):
    account = Account.objects.create(
        owner=admin_user, name="radicale", kind="caldav", url=radicale.url, username="alice", password="wrong-pass"
    )

    admin_page.goto(f"{live_server.url}/admin/accounts/account/{account.pk}/change/")
    admin_page.get_by_role("button", name="Test connection").click()

    expect(admin_page.locator(".messagelist")).to_contain_text("401")
    expect(admin_page.locator("body")).not_to_contain_text("wrong-pass")
