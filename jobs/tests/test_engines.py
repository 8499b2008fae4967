"""The engine registry: one engine per pair of account kinds, its typed options, refused pairs."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.utils.module_loading import import_string
from rest_framework.test import APIClient

from accounts.models import Account
from jobs.engines import ENGINES, Engine, engine_for_kinds
from jobs.models import SyncJob
from jobs.services import sync_job_create

pytestmark = pytest.mark.django_db

REFUSED = "calsync cannot sync zammad → caldav"


@pytest.fixture
def accounts(admin_user: User) -> dict[str, Account]:
    kinds = {"zammad": "http://127.0.0.1:1/", "caldav": "http://127.0.0.1:2/", "ics": "http://127.0.0.1:3/f.ics"}
    return {
        kind: Account.objects.create(owner=admin_user, name=kind, kind=kind, url=url) for kind, url in kinds.items()
    }


def form_data(source: Account, destination: Account, **extra: str) -> dict[str, str]:
    return {
        "name": "job", "source": str(source.pk), "destination": str(destination.pk), "mode": "copy",
        "conflict_policy": "source", "enabled": "on", "sync_calendars": "on", "components": '["VEVENT"]',
        "create_collections": "on", "collection_map": "{}", "sync_all": "on", "interval_minutes": "", "crontab": "",
        **extra,
    }  # fmt: skip


@pytest.mark.parametrize("pair", sorted(ENGINES))
def test_every_registered_engine_keeps_the_protocol_and_the_jobs_defaults(pair):
    engine = engine_for_kinds(*pair)

    assert isinstance(engine, Engine)
    assert engine.options(SyncJob()) == engine.options_class()
    assert all(engine.options_class.help_texts().values())
    assert type(engine) is type(import_string(ENGINES[pair])())


def test_the_admin_refuses_a_zammad_to_caldav_job(admin_client, accounts):
    response = admin_client.post("/admin/jobs/syncjob/add/", form_data(accounts["zammad"], accounts["caldav"]))

    assert response.status_code == 200
    assert REFUSED in response.content.decode()
    assert not SyncJob.objects.exists()


def test_the_api_refuses_a_zammad_to_caldav_job(admin_user, accounts):
    api = APIClient()
    api.force_authenticate(admin_user)

    response = api.post(
        "/api/sync-jobs", {"name": "job", "source": accounts["zammad"].pk, "destination": accounts["caldav"].pk}
    )

    assert response.status_code == 400
    assert REFUSED in response.json()["destination"][0]
    assert not SyncJob.objects.exists()


def test_the_cli_refuses_a_zammad_to_caldav_job(accounts):
    with pytest.raises(CommandError, match=REFUSED):
        call_command("sync_accounts", "--source", "zammad", "--destination", "caldav", "--dry-run")
    with pytest.raises(CommandError, match=REFUSED):
        call_command("sync_accounts", "--source", "zammad", "--destination", "caldav")

    assert not SyncJob.objects.exists()


def test_the_admin_job_form_shows_only_the_options_of_its_engine(admin_client, admin_user, accounts):
    dav = Account.objects.create(owner=admin_user, name="other", kind="caldav", url="http://127.0.0.1:4/")
    ics_job = SyncJob.objects.create(owner=admin_user, name="feed", source=accounts["ics"], destination=dav)
    dav_job = SyncJob.objects.create(owner=admin_user, name="dav", source=accounts["caldav"], destination=dav)

    ics_page = admin_client.get(f"/admin/jobs/syncjob/{ics_job.pk}/change/").content.decode()
    dav_page = admin_client.get(f"/admin/jobs/syncjob/{dav_job.pk}/change/").content.decode()
    new_page = admin_client.get("/admin/jobs/syncjob/add/").content.decode()

    assert 'name="keep_local"' in ics_page
    assert 'name="mode"' not in ics_page
    assert "Keep events that left the feed" in ics_page
    assert 'name="mode"' in dav_page
    assert 'name="keep_local"' not in dav_page
    assert 'name="mode"' in new_page
    assert 'name="keep_local"' in new_page


def test_the_admin_shows_an_engines_refusal_of_its_options_on_the_form(admin_client, admin_user, accounts):
    dav = Account.objects.create(owner=admin_user, name="other", kind="caldav", url="http://127.0.0.1:4/")
    data = form_data(accounts["caldav"], dav)
    del data["sync_calendars"]

    response = admin_client.post("/admin/jobs/syncjob/add/", data)

    assert response.status_code == 200
    assert "Sync calendars, address books or both" in response.content.decode()
    assert not SyncJob.objects.exists()


def test_the_service_names_an_unknown_component(admin_user, accounts):
    dav = Account.objects.create(owner=admin_user, name="other", kind="caldav", url="http://127.0.0.1:4/")

    with pytest.raises(ValidationError) as refused:
        sync_job_create(
            owner=admin_user, name="job", source=accounts["caldav"], destination=dav, components=["VEVENT", "VALARM"]
        )

    assert "unknown component VALARM" in refused.value.message_dict["components"][0]
