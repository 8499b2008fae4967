"""The job form speaks the user's language: component checkboxes, the collection mapping picked
from the discovered collections of both accounts (match by name by default), help on every option."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from accounts.models import Account, Collection
from jobs.admin_forms import HELP_TEXTS
from jobs.models import SyncJob

pytestmark = pytest.mark.django_db


@pytest.fixture
def accounts(admin_user: User) -> dict[str, object]:
    old = Account.objects.create(owner=admin_user, name="old", kind="caldav", url="http://127.0.0.1:1/")
    new = Account.objects.create(owner=admin_user, name="new", kind="caldav", url="http://127.0.0.1:2/")
    other = Account.objects.create(owner=admin_user, name="other", kind="caldav", url="http://127.0.0.1:3/")

    def collection(account: Account, name: str) -> Collection:
        return Collection.objects.create(account=account, url=f"{account.url}{name.lower()}/", kind="calendar",
                                         display_name=name, item_count=3)  # fmt: skip

    return {
        "old": old, "new": new, "other": other, "work": collection(old, "Work"), "home": collection(old, "Home"),
        "office": collection(new, "Office"), "elsewhere": collection(other, "Elsewhere"),
    }  # fmt: skip


def _form(accounts: dict, **changes: object) -> dict[str, object]:
    return {
        "name": "move", "source": accounts["old"].pk, "destination": accounts["new"].pk, "mode": "copy",
        "conflict_policy": "source", "enabled": "on", "sync_calendars": "on", "components": ["VEVENT", "VTODO"],
        "create_collections": "on", "collection_map_mode": "name", "sync_all": "on", **changes,
    }  # fmt: skip


def test_it_offers_components_as_checkboxes_and_collections_as_pickers_with_help(admin_client, accounts):
    page = admin_client.get("/admin/jobs/syncjob/add/").content.decode()

    assert 'type="checkbox" name="components" value="VTODO"' in page
    assert '<textarea name="collection_map"' not in page and '<textarea name="components"' not in page
    assert 'name="collection_map_mode" value="name" checked' in page
    assert f'name="collection_map__{accounts["work"].pk}"' in page and "Work (calendar, 3 items)" in page
    rows = page.split('<div class="form-row field-')[1:]
    assert len(rows) >= 12
    for row in rows:  # every option says what it does (the engines' options in their own words)
        assert '<div class="help"' in row, row[:40]
    assert HELP_TEXTS["enabled"] in page and HELP_TEXTS["source"] in page


def test_matching_by_name_stores_an_empty_map_and_the_ticked_components(admin_client, accounts):
    response = admin_client.post("/admin/jobs/syncjob/add/", _form(accounts))

    assert response.status_code == 302, response.content.decode()[:3000]
    job = SyncJob.objects.get(name="move")
    assert (job.collection_map, job.components) == ({}, ["VEVENT", "VTODO"])


def test_picked_pairs_become_the_collection_map(admin_client, accounts):
    work, home, office = accounts["work"], accounts["home"], accounts["office"]
    form = _form(accounts, collection_map_mode="pick", **{
        f"collection_map__{work.pk}": str(office.pk), f"collection_map__{home.pk}": "skip",
        f"collection_map__{accounts['elsewhere'].pk}": "name",  # another account's row: ignored
    })  # fmt: skip

    response = admin_client.post("/admin/jobs/syncjob/add/", form)

    assert response.status_code == 302, response.content.decode()[:3000]
    job = SyncJob.objects.get(name="move")
    assert job.collection_map == {work.url: office.url}
    page = admin_client.get(f"/admin/jobs/syncjob/{job.pk}/change/").content.decode()
    assert 'name="collection_map_mode" value="pick" checked' in page
    assert f'data-account="{accounts["new"].pk}" selected>Office' in page


def test_a_destination_of_another_account_is_refused(admin_client, accounts):
    form = _form(accounts, collection_map_mode="pick", **{
        f"collection_map__{accounts['work'].pk}": str(accounts["elsewhere"].pk),
    })  # fmt: skip

    page = admin_client.post("/admin/jobs/syncjob/add/", form).content.decode()

    assert "choose one of the destination&#x27;s collections" in page
    assert not SyncJob.objects.exists()


def test_choosing_pairs_but_none_at_all_is_refused_rather_than_syncing_everything(admin_client, accounts):
    form = _form(accounts, collection_map_mode="pick", **{
        f"collection_map__{accounts['work'].pk}": "skip", f"collection_map__{accounts['home'].pk}": "skip",
    })  # fmt: skip

    page = admin_client.post("/admin/jobs/syncjob/add/", form).content.decode()

    assert "Choose at least one collection to sync" in page
    assert not SyncJob.objects.exists()


def test_calendars_without_a_component_are_refused(admin_client, accounts):
    page = admin_client.post("/admin/jobs/syncjob/add/", _form(accounts, components=[])).content.decode()

    assert "Tick at least one kind" in page
