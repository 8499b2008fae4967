"""The CalDAV admin in headless Chromium: add an app password, copy it from the page, sign in with it."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.test import Client
from playwright.sync_api import expect

from feeds.dav.tests.conftest import DavClient

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_app_password_made_in_the_admin_signs_a_device_in(admin_page, live_server):
    anna = User.objects.create_user("anna")
    admin_page.goto(f"{live_server.url}/admin/dav/apppassword/add/")
    admin_page.select_option("#id_user", str(anna.pk))
    admin_page.fill("#id_name", "Anna's phone")
    admin_page.click("input[name=_save]")
    message = admin_page.locator(".messagelist .success", has_text="copy it now")
    expect(message).to_contain_text("copy it now")
    password = re.search(r"\): (\S+) — copy it now", message.inner_text()).group(1)

    device = DavClient(Client(), "anna", password)
    assert device.propfind("/dav/").status_code == 207
    expect(admin_page.locator("#result_list")).to_contain_text("Anna's phone")
