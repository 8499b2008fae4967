"""The API's error answers: documented, JSON, and a 409 rather than a 500 for a delete that cannot be."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from accounts.models import Account
from jobs.models import SyncJob

pytestmark = pytest.mark.django_db


def test_deleting_an_account_a_job_still_uses_is_a_409_naming_what_holds_it(client):
    staff = get_user_model().objects.create_user("ops", is_staff=True)
    source = Account.objects.create(owner=staff, name="a", kind="caldav", url="https://a.example.org/")
    destination = Account.objects.create(owner=staff, name="b", kind="caldav", url="https://b.example.org/")
    SyncJob.objects.create(owner=staff, name="job", source=source, destination=destination)
    client.force_login(staff)

    response = client.delete(f"/api/accounts/{source.pk}/")

    assert response.status_code == 409
    assert "sync jobs" in response.json()["detail"]
    assert Account.objects.filter(pk=source.pk).exists()


def test_an_api_url_that_matches_no_route_is_a_json_404(client):
    response = client.get("/api/appointments/not-a-number")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_the_openapi_document_lists_the_error_answers_of_every_operation(client):
    document = client.get("/api/openapi.json").json()

    operations = [op for item in document["paths"].values() for method, op in item.items() if method != "parameters"]
    assert len(operations) > 50
    for operation in operations:
        assert {"400", "401", "403", "404", "405", "415", "429"} <= set(operation["responses"])
    assert (
        document["paths"]["/api/sync-jobs/{id}/dry-run/"]["post"]["responses"]["200"]["content"]["application/json"][
            "schema"
        ]["type"]
        == "array"
    )
