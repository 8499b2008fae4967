"""One admin login for every user, against a real Cyrus: proxy authorisation (``Authorize-As``).

Cyrus httpd lets an admin act for a user only when the admin is in ``proxyservers`` and the
server is a Murder backend (``mupdate_server`` set; imap/httpd.c, ``proxy_authz``): a standalone
Cyrus answers 401 to any Authorize-As. So a migration of two users through one admin login lands
their events from a backend, and on a standalone server each user gets a clear error, with no
password in it, while nothing is written.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from calsync.lib.http import HttpClient
from calsync.testing.realservers import require_installed
from calsync.testing.realservers.common import USERS, RealDavServer
from calsync.testing.realservers.cyrus import ADMIN, start_cyrus
from calsync.testing.samples import timed_event
from jobs.bulk.tests.conftest import radicale_user
from jobs.models import SyncRun

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def cyrus_backend() -> Iterator[RealDavServer]:
    """A Cyrus Murder backend of its own (0.5 s to start): the session's ``cyrus`` must stay able
    to create collections, which a backend without its mupdate server cannot."""
    require_installed("cyrus")
    server = start_cyrus(proxy_authorisation=True)
    yield server
    server.stop()


def put_events(server: RealDavServer, user: str, count: int) -> None:
    """Events written by the user themself, so only the migration's admin login reads them."""
    with HttpClient(username=user, password=USERS[user]) as client:
        for n in range(count):
            url = f"{server.root}dav/calendars/user/{user}/Default/{user}-{n}.ics"
            headers = {"Content-Type": "text/calendar; charset=utf-8"}
            assert client.request("PUT", url, headers=headers, content=timed_event(n)).status in (201, 204)


def create_migration(api: APIClient, cyrus: RealDavServer, destination: str) -> dict:
    response = api.post(
        "/api/migrations",
        {"name": "cyrus", "source_url": cyrus.url, "source_admin_username": ADMIN[0], "source_admin_password": ADMIN[1],
         "source_principal_template": cyrus.root + "dav/principals/user/{user}/", "source_authorize_as": True,
         "destination_url": destination, "sync_contacts": False},
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.content
    return response.json()


@pytest.fixture
def api() -> APIClient:
    client = APIClient()
    client.force_authenticate(User.objects.create_user("olga"))
    return client


def test_one_cyrus_admin_login_migrates_two_users_whose_events_land(
    api: APIClient, cyrus_backend: RealDavServer, radicale, eager_tasks, django_capture_on_commit_callbacks
) -> None:
    put_events(cyrus_backend, "alice", 2)
    put_events(cyrus_backend, "bob", 3)
    ann, ben = radicale_user(radicale), radicale_user(radicale)
    migration = create_migration(api, cyrus_backend, radicale.url)
    header = "source_user,destination_user,destination_password\n"
    users = header + f"alice,{ann.name},{ann.password}\nbob,{ben.name},{ben.password}\n"

    added = api.post(f"/api/migrations/{migration['id']}/upload", {"csv": users}, format="json").json()
    with django_capture_on_commit_callbacks(execute=True):
        started = api.post(f"/api/migrations/{migration['id']}/start")

    assert added["created"] == 2 and started.status_code == 202
    runs = SyncRun.objects.filter(pk__in=started.json()["runs"])
    assert sorted((run.status, run.created) for run in runs) == [("completed", 2), ("completed", 3)]
    root = Path(radicale.directory) / "collections" / "collection-root"
    assert len(list((root / ann.name).glob("*/*.ics"))) == 2
    assert len(list((root / ben.name).glob("*/*.ics"))) == 3


def test_on_a_standalone_cyrus_proxy_authorisation_is_a_clear_error_for_each_user(
    api: APIClient, cyrus, xandikos, eager_tasks, django_capture_on_commit_callbacks
) -> None:
    migration = create_migration(api, cyrus, xandikos.url)
    users = "source_user,destination_user,destination_password\nbob,user,x\n"

    added = api.post(f"/api/migrations/{migration['id']}/upload", {"csv": users}, format="json").json()
    with django_capture_on_commit_callbacks(execute=True):
        api.post(f"/api/migrations/{migration['id']}/dry-run")
    (user,) = api.get(f"/api/migrations/{migration['id']}/users").json()

    assert added["created"] == 1
    assert "401" in user["plan"]["error"] and "may not act for bob (Authorize-As" in user["plan"]["error"]
    assert ADMIN[1] not in str(user)
