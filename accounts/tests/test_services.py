from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from accounts.connectors.base import (
    AuthError,
    CheckResult,
    Listing,
    RemoteCollection,
    TransientError,
)
from accounts.models import Account, Collection
from accounts.services import (
    account_check,
    account_create,
    account_discover_collections,
    account_update,
)

pytestmark = pytest.mark.django_db


@dataclass
class StubConnector:
    """Stands in for a remote server where a test needs an exact answer or failure."""

    check_result: CheckResult | None = None
    collections: list[RemoteCollection] = field(default_factory=list)
    error: Exception | None = None
    closed: bool = False
    items: dict[str, int] = field(default_factory=dict)  # collection URL -> how many items it lists

    def check(self) -> CheckResult:
        if self.error:
            raise self.error
        assert self.check_result is not None
        return self.check_result

    def list_collections(self) -> list[RemoteCollection]:
        if self.error:
            raise self.error
        return self.collections

    def list_items(self, collection: RemoteCollection, *, sync_token: str = "") -> Listing:
        return Listing(items={f"{collection.url}{n}.ics": f'"{n}"' for n in range(self.items.get(collection.url, 0))})

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch) -> StubConnector:
    connector = StubConnector()
    monkeypatch.setattr("accounts.services.connector_for", lambda config: connector)
    return connector


def raw_password_column(account_id: int) -> bytes:
    with connection.cursor() as cursor:
        cursor.execute("SELECT password FROM accounts_account WHERE id = %s", [account_id])
        return bytes(cursor.fetchone()[0])


def test_account_create_stores_the_password_as_ciphertext(django_user_model):
    alice = django_user_model.objects.create_user("alice")
    account = account_create(
        owner=alice, name="Work", kind="caldav", url="https://dav.example.com/", password="hunter2-secret"
    )

    stored = raw_password_column(account.pk)
    assert b"hunter2-secret" not in stored
    assert stored.startswith(b"gAAAAA")  # a Fernet token
    assert Account.objects.get(pk=account.pk).password == "hunter2-secret"


def test_account_create_refuses_a_second_account_with_the_same_name_for_one_owner(django_user_model):
    alice = django_user_model.objects.create_user("alice")
    account_create(owner=alice, name="Work", kind="caldav", url="https://a.example.com/")

    with pytest.raises(ValidationError) as raised:
        account_create(owner=alice, name="Work", kind="caldav", url="https://b.example.com/")

    assert "name" in raised.value.message_dict


def test_two_owners_may_each_have_an_account_with_the_same_name(django_user_model):
    alice = django_user_model.objects.create_user("alice")
    bob = django_user_model.objects.create_user("bob")

    account_create(owner=alice, name="Work", kind="caldav", url="https://a.example.com/")
    account_create(owner=bob, name="Work", kind="caldav", url="https://a.example.com/")

    assert Account.objects.filter(name="Work").count() == 2


def test_account_create_moves_credentials_pasted_into_the_url_into_their_fields(django_user_model):
    alice = django_user_model.objects.create_user("alice")

    account = account_create(
        owner=alice, name="Work", kind="caldav", url="https://alice%40example.com:p%40ss@dav.example.com/dav/"
    )

    assert account.url == "https://dav.example.com/dav/"
    assert account.username == "alice@example.com"
    assert account.password == "p@ss"


def test_account_create_rejects_a_malformed_url(django_user_model):
    alice = django_user_model.objects.create_user("alice")

    with pytest.raises(ValidationError) as raised:
        account_create(owner=alice, name="Work", kind="caldav", url="not a url")

    assert "url" in raised.value.message_dict


def test_account_update_keeps_the_password_when_none_is_given(django_user_model):
    alice = django_user_model.objects.create_user("alice")
    account = account_create(owner=alice, name="Work", kind="caldav", url="https://a.example.com/", password="keep-me")

    account_update(account=account, data={"name": "Office", "password": None})

    account.refresh_from_db()
    assert (account.name, account.password) == ("Office", "keep-me")


def test_account_update_with_an_empty_password_clears_it(django_user_model):
    alice = django_user_model.objects.create_user("alice")
    account = account_create(owner=alice, name="Work", kind="caldav", url="https://a.example.com/", password="old")

    account_update(account=account, data={"password": ""})

    account.refresh_from_db()
    assert account.password == ""


def test_changing_the_url_forgets_the_last_check_result(django_user_model, stub):
    alice = django_user_model.objects.create_user("alice")
    account = account_create(owner=alice, name="Work", kind="caldav", url="https://a.example.com/")
    stub.check_result = CheckResult(ok=True, message="Found 2 calendars.")
    account_check(account=account)

    account_update(account=account, data={"url": "https://b.example.com/"})

    account.refresh_from_db()
    assert (account.last_checked_at, account.last_check_ok, account.last_check_message) == (None, None, "")


def test_renaming_keeps_the_last_check_result(django_user_model, stub):
    alice = django_user_model.objects.create_user("alice")
    account = account_create(owner=alice, name="Work", kind="caldav", url="https://a.example.com/")
    stub.check_result = CheckResult(ok=True, message="Found 2 calendars.")
    account_check(account=account)

    account_update(account=account, data={"name": "Office"})

    account.refresh_from_db()
    assert account.last_check_ok is True


def test_account_check_records_the_result_with_a_single_update(django_user_model, stub, django_assert_num_queries):
    alice = django_user_model.objects.create_user("alice")
    account = account_create(owner=alice, name="Work", kind="caldav", url="https://a.example.com/")
    stub.check_result = CheckResult(ok=True, message="Logged in; found 2 calendars.", collections=2)

    with django_assert_num_queries(1):
        result = account_check(account=account)

    assert result.ok
    account.refresh_from_db()
    assert account.last_check_ok is True
    assert account.last_check_message == "Logged in; found 2 calendars."
    assert account.last_checked_at is not None
    assert stub.closed


def test_account_check_turns_a_connector_error_into_a_failed_result_and_closes_the_connector(django_user_model, stub):
    alice = django_user_model.objects.create_user("alice")
    account = account_create(owner=alice, name="Work", kind="caldav", url="https://a.example.com/")
    stub.error = TransientError("a.example.com did not answer within 20 s")

    result = account_check(account=account)

    assert result == CheckResult(ok=False, message="a.example.com did not answer within 20 s")
    account.refresh_from_db()
    assert account.last_check_ok is False
    assert stub.closed


def test_account_check_removes_the_password_from_a_diagnosis_that_echoes_it(django_user_model, stub):
    alice = django_user_model.objects.create_user("alice")
    account = account_create(
        owner=alice, name="Work", kind="caldav", url="https://a.example.com/", password="s3cret-pass"
    )
    stub.error = AuthError("login refused for alice with password s3cret-pass")

    result = account_check(account=account)

    assert "s3cret-pass" not in result.message
    account.refresh_from_db()
    assert "s3cret-pass" not in account.last_check_message


def test_account_check_of_an_unknown_kind_is_a_failed_result(django_user_model):
    alice = django_user_model.objects.create_user("alice")
    account = account_create(owner=alice, name="Work", kind="caldav", url="https://a.example.com/")
    Account.objects.filter(pk=account.pk).update(kind="gopher")
    account.refresh_from_db()

    result = account_check(account=account)

    assert not result.ok
    assert "gopher" in result.message


def test_discovery_updates_rows_by_url_adds_new_ones_and_removes_vanished_ones(django_user_model, stub):
    alice = django_user_model.objects.create_user("alice")
    account = account_create(owner=alice, name="Work", kind="caldav", url="https://a.example.com/")
    kept = Collection.objects.create(account=account, url="/alice/work/", kind="calendar", display_name="Old name")
    Collection.objects.create(account=account, url="/alice/gone/", kind="calendar", display_name="Gone")
    stub.collections = [
        RemoteCollection(url="/alice/work/", name="Work", kind="calendar", color="#ff0000", components=("VEVENT",)),
        RemoteCollection(url="/alice/contacts/", name="Contacts", kind="addressbook", sync_token="token-1"),
    ]

    collections = account_discover_collections(account=account)

    assert [(c.url, c.display_name) for c in collections] == [
        ("/alice/contacts/", "Contacts"),
        ("/alice/work/", "Work"),
    ]
    kept.refresh_from_db()
    assert (kept.display_name, kept.color, kept.components) == ("Work", "#ff0000", ["VEVENT"])
    assert set(Collection.objects.filter(account=account).values_list("url", flat=True)) == {
        "/alice/work/",
        "/alice/contacts/",
    }
    assert Collection.objects.get(url="/alice/contacts/").sync_token == "token-1"
    assert stub.closed


def test_discovery_stores_each_collections_item_count(django_user_model, stub):
    alice = django_user_model.objects.create_user("alice")
    account = account_create(owner=alice, name="Work", kind="caldav", url="https://a.example.com/")
    stub.collections = [
        RemoteCollection(url="/alice/work/", name="Work", kind="calendar"),
        RemoteCollection(url="/alice/contacts/", name="Contacts", kind="addressbook"),
    ]
    stub.items = {"/alice/work/": 3, "/alice/contacts/": 2}

    account_discover_collections(account=account)

    counts = dict(Collection.objects.filter(account=account).values_list("url", "item_count"))
    assert counts == {"/alice/work/": 3, "/alice/contacts/": 2}


def test_discovery_keeps_the_stored_rows_when_the_server_fails(django_user_model, stub):
    alice = django_user_model.objects.create_user("alice")
    account = account_create(owner=alice, name="Work", kind="caldav", url="https://a.example.com/", password="pw-123")
    Collection.objects.create(account=account, url="/alice/work/", kind="calendar")
    stub.error = AuthError("the server refused pw-123")

    with pytest.raises(AuthError) as raised:
        account_discover_collections(account=account)

    assert "pw-123" not in str(raised.value)
    assert Collection.objects.filter(account=account).count() == 1
    assert stub.closed
