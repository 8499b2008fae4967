"""Uploading a user list to calsync under gunicorn: CSRF and authentication hold, passwords stay put."""

from __future__ import annotations

import httpx
from django.contrib.auth import get_user_model

from accounts.models import Account
from calsync.testing.fuzz import anonymous_session, staff_session
from jobs.bulk.models import BulkMigration
from jobs.bulk.tests.conftest import csv_of

PASSWORDS = (
    "Secret-Ann-4711", "Secret-Ann-New-4711", "Secret-Bob-4711", "Secret-Bob-New-4711", "Secret-Cy-4711",
    "Secret-Cy-New-4711",
)  # fmt: skip


def test_an_upload_needs_a_session_with_its_csrf_token_and_no_password_comes_back_or_reaches_the_log(
    live_app,
) -> None:
    get_user_model().objects.create_user("ops", password="ops-password-long-1", is_staff=True, is_superuser=True)
    client = staff_session(live_app.url, username="ops", password="ops-password-long-1")
    created = client.post(
        "/api/migrations",
        json={
            "name": "org",
            "source_url": "https://old.example.org/dav/",
            "destination_url": "https://new.example.org/",
        },
    )
    assert created.status_code == 201, created.text
    upload = f"/api/migrations/{created.json()['id']}/upload"
    users = csv_of(("ann", PASSWORDS[0], "ann@new", PASSWORDS[1]), ("bob", PASSWORDS[2], "bob@new", PASSWORDS[3]))
    files = {"file": ("users.csv", users.encode(), "text/csv")}
    no_token = httpx.Client(base_url=live_app.url, cookies=client.cookies, timeout=30)

    anonymous = anonymous_session(live_app.url).post(upload, files=files)
    forged = no_token.post(upload, files=files)
    assert (anonymous.status_code, forged.status_code) == (401, 403)
    assert not Account.objects.exists()

    answer = client.post(upload, files=files)
    assert answer.status_code == 201 and answer.json()["created"] == 2
    # The admin's upload form holds the same line: without its token, nothing happens.
    admin_upload = f"/admin/bulk/bulkmigration/{created.json()['id']}/upload/"
    assert no_token.post(admin_upload, files=files).status_code == 403
    more = csv_of(("cy", "Secret-Cy-4711", "cy@new", "Secret-Cy-New-4711"))
    through_admin = client.post(admin_upload, files={"file": ("more.csv", more.encode(), "text/csv")})
    assert through_admin.status_code == 302
    page = client.get(f"/admin/bulk/bulkmigration/{created.json()['id']}/change/")  # shows the admin's message
    assert page.status_code == 200 and 'id="migration-status"' in page.text

    shown = answer.text + client.get(f"/api/migrations/{created.json()['id']}").text + page.text
    assert not [secret for secret in PASSWORDS if secret in shown or secret in live_app.output()]
    assert Account.objects.get(username="bob").password == PASSWORDS[2]
    assert BulkMigration.objects.get().users.count() == 3
    assert "1 users added; 0 rows refused" in page.text
