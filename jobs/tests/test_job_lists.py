"""Job lists read each job's latest run from one annotated queryset: no query per job.

The API's ``GET /api/sync-jobs``, the admin's job changelist and the dashboard all list through
``jobs.selectors.sync_job_rows_for``; each costs the same number of queries for 1 job as for 20.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.models import Account
from jobs.models import OwedItem, SyncJob, SyncRun

pytestmark = pytest.mark.django_db


def add_jobs(owner: User, count: int) -> None:
    first = SyncJob.objects.count()
    source = Account.objects.create(owner=owner, name=f"src {first}", kind="caldav", url="https://a.example.com/")
    destination = Account.objects.create(owner=owner, name=f"dst {first}", kind="caldav", url="https://b.example.com/")
    for n in range(first, first + count):
        job = SyncJob.objects.create(owner=owner, name=f"job {n}", source=source, destination=destination)
        SyncRun.objects.create(job=job, status=SyncRun.Status.COMPLETED)
        SyncRun.objects.create(job=job, status=SyncRun.Status.RUNNING, progress_total=10, progress_done=n % 10)
        if n == 0:  # one owed item in all: the dashboard counts its attention rows beyond five
            OwedItem.objects.create(job=job, href=f"/c/{n}.ics", operation="create", reason="timeout")


def queries_for(get) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = get()
    assert response.status_code == 200
    return len(captured)


@pytest.fixture
def staff() -> User:
    return User.objects.create_superuser("stella", password="pw-stella-4711")


def api_get(user: User):
    client = APIClient()
    client.force_authenticate(user)
    return lambda: client.get("/api/sync-jobs")


def browser_get(user: User, path: str):
    client = Client()
    client.force_login(user)
    client.get(path)  # the session and the site's caches are warm before counting
    return lambda: client.get(path)


SURFACES = {
    "api": api_get,
    "admin": lambda user: browser_get(user, "/admin/jobs/syncjob/"),
    "dashboard": lambda user: browser_get(user, "/"),
}


@pytest.mark.parametrize("surface", SURFACES)
def test_it_lists_twenty_jobs_in_as_many_queries_as_one(staff, surface, django_assert_num_queries):
    add_jobs(staff, 1)
    one = queries_for(SURFACES[surface](staff))
    add_jobs(staff, 19)
    get = SURFACES[surface](staff)
    get()

    with django_assert_num_queries(one):
        response = get()

    assert response.status_code == 200


def test_it_shows_each_jobs_latest_run_and_owed_counts_in_the_api(staff):
    add_jobs(staff, 3)

    rows = api_get(staff)().json()["results"]

    assert [(row["status"], row["last_run"]["progress_done"]) for row in rows] == [("running", n) for n in range(3)]
    assert [row["owed_items"]["owed"] for row in rows] == [1, 0, 0]
