"""Who sees what: the admin's lists and the API's lists come from the same selectors and agree.

The rule (``calsync.visibility``): active staff see every row; any other user the rows they own,
directly or through a job; anonymous users nothing. The admin turns away non-staff users at its
door, so its side is read through each ``ModelAdmin.get_queryset`` — what a changelist would list.
"""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth.models import AnonymousUser, User
from django.test import RequestFactory
from rest_framework.test import APIClient

from accounts.models import Account, Collection
from booking.models import Appointment, Artist
from feeds.models import IcsFeed
from jobs.models import Conflict, OwedItem, SyncJob, SyncLog, SyncRun

pytestmark = pytest.mark.django_db


def own_world(user: User, tag: str) -> dict[str, int]:
    source = Account.objects.create(owner=user, name=f"{tag}-src", kind="caldav", url=f"https://{tag}.example.com/")
    destination = Account.objects.create(
        owner=user, name=f"{tag}-dst", kind="caldav", url=f"https://{tag}.example.org/"
    )
    collection = Collection.objects.create(account=source, url=f"/{tag}/cal/", kind="calendar")
    job = SyncJob.objects.create(owner=user, name=f"{tag}-job", source=source, destination=destination)
    run = SyncRun.objects.create(job=job, status=SyncRun.Status.COMPLETED)
    SyncLog.objects.create(run=run, level=SyncLog.Level.INFO, message=f"{tag} ran")
    conflict = Conflict.objects.create(job=job, run=run, reason="both changed")
    owed = OwedItem.objects.create(job=job, href=f"/{tag}/cal/1.ics", operation="create", reason="timeout")
    feed = IcsFeed.objects.create(owner=user, name=tag, path=f"{tag}-feed", account=source)
    return {
        "account": source.pk, "collection": collection.pk, "job": job.pk, "run": run.pk,
        "conflict": conflict.pk, "owed": owed.pk, "feed": feed.pk,
    }  # fmt: skip


@pytest.fixture
def users() -> dict[str, User]:
    return {
        "olga": User.objects.create_user("olga"),
        "oscar": User.objects.create_user("oscar"),
        "stella": User.objects.create_user("stella", is_staff=True),
    }


@pytest.fixture
def worlds(users) -> dict[str, dict[str, int]]:
    return {name: own_world(user, name) for name, user in users.items() if name != "stella"}


def admin_ids(model, user) -> set[int]:
    admin.autodiscover()  # as the URLconf does
    request = RequestFactory().get("/admin/")
    request.user = user
    return set(admin.site._registry[model].get_queryset(request).values_list("pk", flat=True))


def api_ids(user, path: str) -> set[int]:
    client = APIClient()
    client.force_authenticate(user)
    response = client.get(path)
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


# (model, world key, API list path)
LISTED = [
    (Account, "account", "/api/accounts"),
    (SyncJob, "job", "/api/sync-jobs"),
    (SyncRun, "run", "/api/sync-runs"),
    (Conflict, "conflict", "/api/conflicts"),
    (IcsFeed, "feed", "/api/feeds"),
]


@pytest.mark.parametrize(("model", "key", "path"), LISTED, ids=[m.__name__ for m, _k, _p in LISTED])
def test_it_lists_only_a_users_own_rows_in_the_admin_and_the_api_alike(users, worlds, model, key, path):
    olga = users["olga"]

    in_admin, in_api = admin_ids(model, olga), api_ids(olga, path)

    assert worlds["olga"][key] in in_admin
    assert worlds["oscar"][key] not in in_admin
    assert in_admin == in_api


@pytest.mark.parametrize(("model", "key", "path"), LISTED, ids=[m.__name__ for m, _k, _p in LISTED])
def test_it_lists_every_row_to_staff_in_the_admin_and_the_api_alike(users, worlds, model, key, path):
    stella = users["stella"]

    in_admin, in_api = admin_ids(model, stella), api_ids(stella, path)

    assert {worlds["olga"][key], worlds["oscar"][key]} <= in_admin
    assert in_admin == in_api


def test_it_lists_owed_items_of_a_users_own_jobs_in_the_admin_and_the_api_alike(users, worlds):
    olga = users["olga"]
    client = APIClient()
    client.force_authenticate(olga)

    own = client.get(f"/api/sync-jobs/{worlds['olga']['job']}/owed")
    others = client.get(f"/api/sync-jobs/{worlds['oscar']['job']}/owed")

    assert admin_ids(OwedItem, olga) == {row["id"] for row in own.json()["results"]} == {worlds["olga"]["owed"]}
    assert others.status_code == 404


def test_it_lists_log_lines_of_a_users_own_jobs_only(users, worlds):
    from jobs.selectors import sync_log_list_for

    client = APIClient()
    client.force_authenticate(users["olga"])

    own = client.get(f"/api/sync-jobs/{worlds['olga']['job']}/logs")
    others = client.get(f"/api/sync-jobs/{worlds['oscar']['job']}/logs")

    assert [row["message"] for row in own.json()["results"]] == ["olga ran"]
    assert others.status_code == 404
    assert list(sync_log_list_for(user=users["olga"]).values_list("message", flat=True)) == ["olga ran"]


def test_it_lists_collections_of_a_users_own_accounts_only(users, worlds):
    olga = users["olga"]

    assert admin_ids(Collection, olga) == {worlds["olga"]["collection"]}
    assert admin_ids(Collection, users["stella"]) == {worlds["olga"]["collection"], worlds["oscar"]["collection"]}


def test_it_shows_the_studios_appointments_to_staff_only_in_the_admin_and_the_api_alike(users):
    artist = Artist.objects.create(slug="ink", name="Ink", time_zone="Europe/Berlin", working_hours={})
    booked = Appointment.objects.create(
        artist=artist, client_name="Client", client_email="c@example.org",
        start="2030-01-07T10:00:00Z", end="2030-01-07T11:00:00Z",
    )  # fmt: skip
    client = APIClient()
    client.force_authenticate(users["olga"])

    assert admin_ids(Appointment, users["olga"]) == set()
    assert client.get("/api/appointments").status_code == 403
    assert admin_ids(Appointment, users["stella"]) == api_ids(users["stella"], "/api/appointments") == {booked.pk}


def test_it_shows_nothing_to_anonymous_or_inactive_users(users, worlds):
    from accounts.selectors import account_list_for
    from jobs.selectors import sync_job_list_for

    users["stella"].is_active = False

    for user in (AnonymousUser(), users["stella"]):
        assert not account_list_for(user=user).exists()
        assert not sync_job_list_for(user=user).exists()
