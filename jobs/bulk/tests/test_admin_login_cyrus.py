"""One admin login for every user, against a real Cyrus: what it does today, said per user.

Cyrus lets an admin act for a user only through proxy authorisation (``Authorize-As`` with the
admin in ``proxyservers``), which calsync's connector does not send yet; with the admin's plain
login the user's principal answers 403. The migration must say so for each user, clearly, with
no password in the answer, and the users with their own passwords must not be held up by it.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from calsync.testing.realservers.cyrus import ADMIN

pytestmark = pytest.mark.django_db


def test_on_cyrus_an_admin_login_that_may_not_act_for_a_user_is_a_clear_error_for_that_user(cyrus, xandikos) -> None:
    api = APIClient()
    api.force_authenticate(User.objects.create_user("olga"))
    migration = api.post(
        "/api/migrations",
        {"name": "cyrus", "source_url": cyrus.url, "source_admin_username": ADMIN[0], "source_admin_password": ADMIN[1],
         "source_principal_template": cyrus.root + "dav/principals/user/{user}/", "destination_url": xandikos.url,
         "sync_contacts": False},
        format="json",
    ).json()  # fmt: skip
    users = "source_user,destination_user,destination_password\nbob,user,x\n"

    added = api.post(f"/api/migrations/{migration['id']}/upload", {"csv": users}, format="json").json()
    (plan,) = api.post(f"/api/migrations/{migration['id']}/dry-run").json()["users"]

    assert added["created"] == 1
    assert plan["source_user"] == "bob"
    assert "/dav/principals/user/bob/" in plan["error"] and "403" in plan["error"]
    assert ADMIN[1] not in str(plan)
