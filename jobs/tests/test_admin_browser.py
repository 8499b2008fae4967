"""The admin in headless Chromium: a connection test button. (Run pages: test_console_browser.py.)"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from accounts.models import Account

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_connection_test_button_shows_the_diagnosis(admin_page, live_server, admin_user, radicale):
    account = Account.objects.create(
        owner=admin_user, name="radicale", kind="caldav", url=radicale.url, username="alice", password="wrong-pass"
    )

    admin_page.goto(f"{live_server.url}/admin/accounts/account/{account.pk}/change/")
    admin_page.get_by_role("button", name="Test connection").click()

    expect(admin_page.locator(".messagelist")).to_contain_text("401")
    expect(admin_page.locator("body")).not_to_contain_text("wrong-pass")
