"""The feed form: the owner pre-filled, the calendars ticked from the account's discovered ones."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from accounts.models import Account, Collection
from feeds.admin_forms import HELP_TEXTS
from feeds.models import IcsFeed

pytestmark = pytest.mark.django_db


@pytest.fixture
def calendars(admin_user: User) -> dict[str, Collection]:
    studio = Account.objects.create(owner=admin_user, name="studio", kind="caldav", url="http://127.0.0.1:1/")
    other = Account.objects.create(owner=admin_user, name="other", kind="caldav", url="http://127.0.0.1:2/")
    return {
        name: Collection.objects.create(account=account, url=f"{account.url}{name}/", kind="calendar",
                                        display_name=name.capitalize())
        for account, name in ((studio, "anna"), (studio, "ben"), (other, "private"))
    }  # fmt: skip


def test_it_prefills_the_owner_and_offers_calendars_as_checkboxes_with_help(admin_client, admin_user, calendars):
    page = admin_client.get("/admin/feeds/icsfeed/add/").content.decode()

    assert f'<option value="{admin_user.pk}" selected>' in page
    anna = calendars["anna"]
    assert f'type="checkbox" name="calendars" value="{anna.url}"' in page
    assert f'data-account="{anna.account_id}"' in page and "Anna (calendar)" in page
    assert '<textarea name="calendars"' not in page
    for option in ("path", "calendars", "include_todos", "sync_all", "token", "interval_minutes"):
        assert HELP_TEXTS[option] in page, option


def test_ticked_calendars_are_stored_and_another_accounts_are_refused(admin_client, admin_user, calendars):
    form = {
        "owner": admin_user.pk, "path": "studio/anna", "source_type": "caldav", "account": calendars["anna"].account_id,
        "calendars": [calendars["anna"].url], "sync_all": "on", "interval_minutes": "15",
    }  # fmt: skip

    refused = admin_client.post("/admin/feeds/icsfeed/add/", {**form, "calendars": [calendars["private"].url]})
    assert "Tick calendars of the account chosen above" in refused.content.decode()
    response = admin_client.post("/admin/feeds/icsfeed/add/", form)

    assert response.status_code == 302, response.content.decode()[:3000]
    assert IcsFeed.objects.get(path="studio/anna").calendars == [calendars["anna"].url]
