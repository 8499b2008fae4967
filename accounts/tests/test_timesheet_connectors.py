"""The Zammad and Kimai connectors against the local stand-ins of their documented APIs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from accounts.connectors import connector_for
from accounts.connectors.base import AccountConfig, AuthError, ItemRejected, ItemStore, TimeTrackingApi
from accounts.connectors.kimai import KimaiConnector, parse_kimai_time
from accounts.connectors.zammad import ZammadConnector
from calsync.testing.timesheets import KimaiStandIn, ZammadStandIn

T0 = datetime(2025, 3, 3, 8, 0, 7, tzinfo=UTC)


@pytest.fixture
def zammad():
    server = ZammadStandIn()
    yield server
    server.stop()


@pytest.fixture
def kimai():
    server = KimaiStandIn()
    yield server
    server.stop()


def zammad_connector(server: ZammadStandIn, token: str = "z-secret-token") -> ZammadConnector:
    return connector_for(AccountConfig(kind="zammad", url=server.url, password=token))


def kimai_connector(server: KimaiStandIn, token: str = "k-secret-token") -> KimaiConnector:
    return connector_for(AccountConfig(kind="kimai", url=server.url, password=token))


def test_both_connectors_come_from_the_registry_and_keep_the_protocol(zammad, kimai):
    for connector in (zammad_connector(zammad), kimai_connector(kimai)):
        assert isinstance(connector, TimeTrackingApi)
        assert not isinstance(connector, ItemStore)  # no calendars to pretend about
        connector.close()


def test_zammad_check_names_the_user_and_a_bad_token_is_an_auth_error_without_the_token(zammad):
    zammad.add_user("agent@example.org", token="z-secret-token")
    assert zammad_connector(zammad).check().message == "Connected to Zammad as agent@example.org"
    with pytest.raises(AuthError) as refused:
        zammad_connector(zammad, token="wrong-token-123").check()
    assert refused.value.status == 401
    assert "wrong-token-123" not in str(refused.value)
    assert zammad.requests[-1].path == "/api/v1/users/me"


def test_zammad_without_credentials_answers_403_authentication_required(zammad):
    from calsync.lib.http import HttpClient

    response = HttpClient().request("GET", f"{zammad.url}/api/v1/users/me")
    assert response.status == 403
    assert response.content == b'{"error": "Authentication required", "error_human": "Authentication required"}'


def test_zammad_check_says_when_the_token_cannot_read_time_accountings(zammad):
    zammad.add_user("agent@example.org", admin=False, token="z-secret-token")
    result = zammad_connector(zammad).check()
    assert not result.ok
    assert "admin.time_accounting" in result.message


def test_zammad_lists_time_accountings_in_pages_of_500_filtered_by_date(zammad):
    agent = zammad.add_user("agent@example.org", token="z-secret-token")
    ticket = zammad.add_ticket("Printer")
    for n in range(1203):
        zammad.add_time_accounting(ticket, 15, created_by_id=agent, created_at=T0 + timedelta(minutes=n))
    connector = zammad_connector(zammad)
    everything = list(connector.list_time_accountings())
    assert len(everything) == 1203
    assert everything[0]["time_unit"] == "15.0"
    assert [r.query["page"] for r in zammad.requests] == [["1"], ["2"], ["3"]]
    window = list(connector.list_time_accountings(since=T0 + timedelta(minutes=10), until=T0 + timedelta(minutes=20)))
    assert len(window) == 10


def test_zammad_tickets_are_read_in_batches_with_organisation_names(zammad):
    zammad.add_user("agent@example.org", token="z-secret-token")
    org = zammad.add_organization("ACME")
    ids = [zammad.add_ticket(f"T{n}", organization_id=org) for n in range(250)]
    found = zammad_connector(zammad).tickets(ids)
    assert len(found) == 250
    assert found[ids[0]]["organization"] == "ACME"
    assert found[ids[0]]["number"] == "53001"
    assert len(zammad.calls("GET")) == 2


def test_kimai_check_and_a_bad_bearer_token_is_an_auth_error_without_the_token(kimai):
    kimai.add_user("admin", timezone="Europe/Berlin", role="ROLE_SUPER_ADMIN", token="k-secret-token")
    assert kimai_connector(kimai).check().message == "Connected to Kimai as admin (Europe/Berlin)"
    with pytest.raises(AuthError) as refused:
        kimai_connector(kimai, token="nope-456").check()
    assert "nope-456" not in str(refused.value)


def test_kimai_without_credentials_answers_401_unauthorized(kimai):
    from calsync.lib.http import HttpClient

    with pytest.raises(AuthError):
        HttpClient().request("GET", f"{kimai.url}/api/users/me")
    assert kimai.requests[-1].path == "/api/users/me"


def test_kimai_creates_in_the_api_users_wall_clock_rounds_and_answers_with_an_offset(kimai):
    admin = kimai.add_user("admin", timezone="Europe/Berlin", role="ROLE_SUPER_ADMIN", token="k-secret-token")
    customer = kimai.add_customer("ACME")
    project = kimai.add_project("Support", customer)
    activity = kimai.add_activity("Phone")
    connector = kimai_connector(kimai)
    created = connector.create_timesheet(
        begin=T0, end=T0 + timedelta(minutes=15), project=project, activity=activity, description="x", user=admin
    )
    assert created["begin"] == "2025-03-03T09:00:00+0100"  # 08:00:07 UTC, floored to the minute
    assert created["end"] == "2025-03-03T09:16:00+0100"  # 09:15:07 ceiled
    assert created["duration"] == 16 * 60
    assert parse_kimai_time(created["begin"]) == T0.replace(second=0)


def test_kimai_refuses_fields_its_form_does_not_have(kimai):
    kimai.add_user("admin", timezone="UTC", role="ROLE_SUPER_ADMIN", token="k-secret-token")
    connector = kimai_connector(kimai)
    with pytest.raises(ValueError, match="duration"):
        connector.create_timesheet(begin=T0, duration=900)
    with pytest.raises(ItemRejected) as refused:
        connector.call("POST", "/api/timesheets", body={"begin": "2025-03-03T08:00:00", "duration": 900})
    assert refused.value.status == 400
    assert "This form should not contain extra fields." in str(refused.value)


def test_kimai_lists_timesheets_in_pages_and_stops_at_the_last_one(kimai):
    admin = kimai.add_user("admin", timezone="UTC", role="ROLE_SUPER_ADMIN", token="k-secret-token")
    project, activity = kimai.add_project("Support", kimai.add_customer("ACME")), kimai.add_activity("Phone")
    for n in range(1001):
        begin = T0 + timedelta(hours=n)
        kimai.add_timesheet(
            begin=begin,
            end=begin + timedelta(minutes=5),
            project=project,
            activity=activity,
            user=admin,
            description=f"entry {n}",
        )
    connector = kimai_connector(kimai)
    assert len(list(connector.list_timesheets())) == 1001
    assert len(kimai.calls("GET")) == 3  # three pages, no per-entry calls
    start = T0.replace(second=0) + timedelta(hours=10)  # Kimai floored every begin to the minute
    window = list(connector.list_timesheets(begin=start, end=start + timedelta(hours=9)))
    assert len(window) == 10


def test_kimai_term_search_is_like_so_the_client_must_recheck(kimai):
    admin = kimai.add_user("admin", timezone="UTC", role="ROLE_SUPER_ADMIN", token="k-secret-token")
    project, activity = kimai.add_project("Support", kimai.add_customer("ACME")), kimai.add_activity("Phone")
    for text in ("Zammad #53001 a [zammad-ta-1]", "Zammad #530011 b [zammad-ta-2]", "by hand"):
        kimai.add_timesheet(
            begin=T0, end=T0 + timedelta(minutes=5), project=project, activity=activity, user=admin, description=text
        )
    found = [t["description"] for t in kimai_connector(kimai).list_timesheets(term="#53001")]
    assert sorted(found) == ["Zammad #53001 a [zammad-ta-1]", "Zammad #530011 b [zammad-ta-2]"]


def test_kimai_refuses_to_edit_exported_or_locked_entries(kimai):
    user = kimai.add_user("ann", timezone="UTC", role="ROLE_TEAMLEAD", token="k-secret-token")
    project, activity = kimai.add_project("Support", kimai.add_customer("ACME")), kimai.add_activity("Phone")
    exported = kimai.add_timesheet(
        begin=T0, end=T0 + timedelta(minutes=5), project=project, activity=activity, user=user, exported=True
    )
    old = kimai.add_timesheet(
        begin=T0 - timedelta(days=40),
        end=T0 - timedelta(days=40) + timedelta(minutes=5),
        project=project,
        activity=activity,
        user=user,
    )
    kimai.lockdown_before = T0 - timedelta(days=30)
    connector = kimai_connector(kimai)
    for timesheet in (exported, old):
        with pytest.raises(ItemRejected) as refused:
            connector.update_timesheet(timesheet, description="changed")
        assert refused.value.status == 403
        with pytest.raises(ItemRejected):
            connector.delete_timesheet(timesheet)
    assert len(kimai.state.timesheets) == 2


def test_kimai_users_are_none_when_the_token_may_not_list_them(kimai):
    kimai.add_user("ann", timezone="UTC", role="ROLE_ADMIN", token="k-secret-token")
    assert kimai_connector(kimai).users() is None


def test_kimai_lists_timesheets_by_tag_and_attaches_only_existing_tags(kimai):
    admin = kimai.add_user("admin", timezone="UTC", role="ROLE_SUPER_ADMIN", token="k-secret-token")
    project, activity = kimai.add_project("Support", kimai.add_customer("ACME")), kimai.add_activity("Phone")
    connector = kimai_connector(kimai)
    with pytest.raises(ItemRejected):  # Kimai answers 400 when none of the given tags exists
        list(connector.list_timesheets(tags=["zammad"]))
    connector.create_tag(name="zammad")
    tagged = connector.create_timesheet(
        begin=T0,
        end=T0 + timedelta(minutes=5),
        project=project,
        activity=activity,
        description="synced",
        tags=["zammad", "unknown"],
    )
    connector.create_timesheet(
        begin=T0, end=T0 + timedelta(minutes=5), project=project, activity=activity, description="by hand"
    )
    assert tagged["tags"] == ["zammad"]
    assert [t["description"] for t in connector.list_timesheets(tags=["zammad"])] == ["synced"]
    assert connector.tags() == ["zammad"]
    assert admin
