"""Server profiles: what "Test connection" finds a CalDAV/CardDAV server doing, on six real servers.

The expected profiles are the quirks of /work/shared/refs/real-servers.md (sabre/dav 1.8 has no
sync-collection; SOGo ignores If-None-Match and component sets and turns vCard 4 into 3.0; DAViCal
sends no ETag for a vCard PUT and does not enforce component sets), plus what Radicale and
Xandikos do. "vCard 4 kept" is a vCard 4 contact with a ``data:`` PHOTO and structured N and ADR
read back unchanged: Radicale cuts the URI at its comma and DAViCal escapes it. The probe must leave nothing behind.
"""

from __future__ import annotations

from contextlib import closing
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.connectors import connector_for
from accounts.connectors.base import AccountConfig
from accounts.connectors.caldav import CalDAVConnector
from accounts.connectors.probe import probe_profile
from accounts.connectors.profile import ServerProfile
from accounts.services import account_check, account_create, account_update
from calsync.lib.http import HttpResponse
from calsync.testing import samples

EXPECTED = {
    #            sync   mixed  set    etag   vcard etag  ignores INM  vCard 4 kept
    "radicale": (True, True, False, True, True, False, False),
    "xandikos": (True, True, True, True, True, False, True),
    "sogo": (True, True, False, True, True, True, False),
    "cyrus": (True, True, True, True, True, False, True),
    "davical": (True, True, False, True, False, False, False),
    "sabredav": (False, True, True, True, True, False, True),
}
FIELDS = (
    "supports_sync_collection",
    "mixed_components",
    "honours_component_set",
    "etag_on_put",
    "etag_on_vcard_put",
    "ignores_if_none_match",
    "vcard4",
)


def config_of(server, kind: str = "caldav") -> AccountConfig:
    return AccountConfig(kind=kind, url=server.url, username=server.username, password=server.password)


def collection_urls(server) -> set[str]:
    urls = set()
    for kind in ("caldav", "carddav"):
        with closing(connector_for(config_of(server, kind))) as connector:
            urls |= {collection.url for collection in connector.list_collections()}
    return urls


def test_it_profiles_each_server_as_the_fact_sheet_describes_it_and_leaves_nothing_behind(real_server):
    before = collection_urls(real_server)

    profile = probe_profile(config_of(real_server))

    assert tuple(getattr(profile, name) for name in FIELDS) == EXPECTED[real_server.name], profile
    assert profile.probed and len(profile.notes) == 2 and "removed" in profile.notes[0]
    assert collection_urls(real_server) == before


def test_a_connector_reads_the_stored_profile(radicale):
    profile = ServerProfile(supports_sync_collection=False, ignores_if_none_match=True, vcard4=False)
    config = AccountConfig(
        kind="caldav",
        url=radicale.url,
        username=radicale.username,
        password=radicale.password,
        profile=ServerProfile.from_dict(profile.as_dict()),
    )

    with closing(CalDAVConnector(config)) as connector:
        calendar = connector.create_collection(name="Profiled", kind="calendar")
        methods: list[str] = []
        send = connector.http.request

        def recorded(method: str, url: str, **options: Any) -> HttpResponse:
            methods.append(method)
            return send(method, url, **options)

        connector.http.request = recorded  # type: ignore[method-assign]
        listing = connector.list_items(calendar)
        seen = connector.profile
        listed = list(methods)
        methods.clear()
        connector.put(calendar, samples.calendar_objects(1)[0], uid="profiled-1")

    assert (seen.supports_sync_collection, seen.ignores_if_none_match, seen.vcard4) == (False, True, False)
    assert listing.complete and listed == ["PROPFIND"]  # the sync-collection REPORT was not even tried
    # The profile says If-None-Match is ignored: look before creating, without the probe PUT.
    assert methods[-1] == "PUT" and methods.count("PUT") == 1 and len(methods) >= 2


@pytest.mark.django_db
def test_test_connection_stores_the_profile_and_shows_it_read_only_in_the_api_and_the_admin(
    radicale, admin_user, admin_client
):
    admin = admin_user
    account = account_create(
        owner=admin, name="Radicale", kind="caldav", url=radicale.url, username=radicale.username,
        password=radicale.password,
    )  # fmt: skip
    api = APIClient()
    api.force_authenticate(admin)
    assert api.get(f"/api/accounts/{account.pk}").json()["server_profile"] is None

    assert account_check(account=account).ok
    detail = api.get(f"/api/accounts/{account.pk}").json()
    changed = api.patch(f"/api/accounts/{account.pk}", {"server_profile": {"vcard4": True}}, format="json")
    page = admin_client.get(f"/admin/accounts/account/{account.pk}/change/").content.decode()

    assert detail["server_profile"]["supports_sync_collection"] is True
    assert detail["server_profile"]["ignores_if_none_match"] is False
    assert changed.status_code == 200 and changed.json()["server_profile"]["vcard4"] is False
    assert "Change listing (sync-collection, RFC 6578): yes" in page
    assert "Keeps vCard 4.0 contacts as written: no: contacts are read in the version the source serves" in page
    account.refresh_from_db()
    stored = account.connector_config().profile
    assert stored is not None and stored.supports_sync_collection is True
    # Another server behind the account: what was probed no longer describes it.
    account_update(account=account, data={"url": radicale.url + "alice/"})
    assert api.get(f"/api/accounts/{account.pk}").json()["server_profile"] is None
