"""Job logs with a query string no client of ours sends, against the live application."""

from __future__ import annotations

from django.contrib.auth import get_user_model

from accounts.models import Account
from calsync.testing.fuzz import staff_session
from jobs.models import SyncJob, SyncLog, SyncRun


def test_job_logs_answer_a_run_or_after_that_is_not_a_number_with_a_400_naming_it(live_app):
    staff = get_user_model().objects.create_user("ops", password="ops-password-long-1", is_staff=True)
    source = Account.objects.create(owner=staff, name="a", kind="caldav", url="https://a.example.org/")
    destination = Account.objects.create(owner=staff, name="b", kind="caldav", url="https://b.example.org/")
    job = SyncJob.objects.create(owner=staff, name="job", source=source, destination=destination)
    run = SyncRun.objects.create(job=job)
    line = SyncLog.objects.create(run=run, message="copied 3 events")
    client = staff_session(live_app.url, username="ops", password="ops-password-long-1")
    logs = f"/api/sync-jobs/{job.pk}/logs/"

    answers = {
        query: client.get(logs + query)
        for query in ("?run=abc", "?run=%C2%B2", "?run=-1", f"?run={'9' * 30}", "?after=%C2%B2", "?after=1e9")
    }
    fine = client.get(f"{logs}?run={run.pk}&after=0")

    assert {query: response.status_code for query, response in answers.items()} == dict.fromkeys(answers, 400)
    assert "run" in answers["?run=abc"].json()
    assert "after" in answers["?after=1e9"].json()
    assert fine.status_code == 200
    assert [entry["id"] for entry in fine.json()["results"]] == [line.pk]
