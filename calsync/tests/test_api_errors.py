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


def test_the_one_handler_answers_what_services_raise_without_the_views_catching_it():
    from django.core.exceptions import ValidationError as DjangoValidationError
    from rest_framework.response import Response

    from accounts.connectors.base import AuthError
    from accounts.services import AccountInUse
    from calsync.errors import api_exception_handler
    from jobs.reconcile.plan import EmptySideGuard
    from jobs.runs import RunStateError

    def answer(exc: Exception) -> Response:
        response = api_exception_handler(exc, {})
        assert response is not None, exc
        return response

    invalid = answer(DjangoValidationError({"name": ["Already taken."]}))
    in_use = answer(AccountInUse("Sync jobs still use it."))
    wipe = answer(EmptySideGuard("The source lists nothing."))
    busy = answer(RunStateError("The job has an active run."))
    refused = answer(AuthError("Login refused (401)."))

    assert (invalid.status_code, invalid.data) == (400, {"name": ["Already taken."]})
    assert [(r.status_code, r.data["detail"]) for r in (in_use, wipe, busy)] == [
        (409, "Sync jobs still use it."),
        (409, "The source lists nothing."),
        (409, "The job has an active run."),
    ]
    assert refused.status_code == 502 and "Login refused" in refused.data["detail"]


def test_a_run_state_conflict_from_a_service_is_a_409_through_the_api(client):
    staff = get_user_model().objects.create_user("ops", is_staff=True)
    source = Account.objects.create(owner=staff, name="a", kind="caldav", url="https://a.example.org/")
    destination = Account.objects.create(owner=staff, name="b", kind="caldav", url="https://b.example.org/")
    job = SyncJob.objects.create(owner=staff, name="job", source=source, destination=destination)
    client.force_login(staff)

    response = client.post(f"/api/sync-jobs/{job.pk}/pause")

    assert response.status_code == 409
    assert response.json() == {"detail": "The job has no active run."}
