from __future__ import annotations

from io import StringIO

import pytest
from cryptography.fernet import InvalidToken
from django.core.management import CommandError, call_command
from django.db import connection

from accounts.models import Account
from accounts.services import account_create, encryption_keys_reload

pytestmark = pytest.mark.django_db

KEY_A = "key-a-0123456789-0123456789-0123456789"
KEY_B = "key-b-9876543210-9876543210-9876543210"


@pytest.fixture
def use_keys(settings):
    """Switch settings.FERNET_KEYS the way a restarted process would see them: fernet_fields
    caches the keys on each field, so the caches go with every switch and after the test."""

    def switch(*keys: str) -> None:
        settings.FERNET_KEYS = list(keys)
        encryption_keys_reload()

    yield switch
    encryption_keys_reload()


def raw_password(account_id: int) -> bytes:
    with connection.cursor() as cursor:
        cursor.execute("SELECT password FROM accounts_account WHERE id = %s", [account_id])
        return bytes(cursor.fetchone()[0])


def test_rotation_re_encrypts_every_password_with_the_newest_key(django_user_model, use_keys):
    alice = django_user_model.objects.create_user("alice")
    use_keys(KEY_A)
    account = account_create(owner=alice, name="Work", kind="caldav", url="https://a.example.com/", password="pw-ab")
    before = raw_password(account.pk)

    use_keys(KEY_B, KEY_A)
    output = StringIO()
    call_command("rotate_keys", stdout=output)

    use_keys(KEY_B)
    assert Account.objects.get(pk=account.pk).password == "pw-ab"
    after = raw_password(account.pk)
    assert after != before
    assert b"pw-ab" not in after
    use_keys(KEY_A)
    with pytest.raises(InvalidToken):
        Account.objects.get(pk=account.pk)
    assert "Re-encrypted 1 values in 1 rows" in output.getvalue()
    assert "accounts.Account" in output.getvalue()


def test_rotation_works_through_several_batches_and_keeps_empty_and_changed_values(django_user_model, use_keys):
    alice = django_user_model.objects.create_user("alice")
    use_keys(KEY_A)
    passwords = {f"Account {number}": f"pw-{number}" if number % 3 else "" for number in range(7)}
    for name, password in passwords.items():
        account_create(owner=alice, name=name, kind="caldav", url="https://a.example.com/", password=password)

    use_keys(KEY_B, KEY_A)
    call_command("rotate_keys", "--batch-size", "2", stdout=StringIO())

    use_keys(KEY_B)
    assert {account.name: account.password for account in Account.objects.all()} == passwords


def test_rotation_leaves_the_other_columns_alone(django_user_model, use_keys):
    alice = django_user_model.objects.create_user("alice")
    use_keys(KEY_A)
    account = account_create(owner=alice, name="Work", kind="caldav", url="https://a.example.com/", password="pw")
    updated_at = Account.objects.get(pk=account.pk).updated_at

    use_keys(KEY_B, KEY_A)
    call_command("rotate_keys", stdout=StringIO())

    assert Account.objects.get(pk=account.pk).updated_at == updated_at


def test_rotation_names_the_model_when_a_value_matches_no_key(django_user_model, use_keys):
    alice = django_user_model.objects.create_user("alice")
    use_keys(KEY_A)
    account_create(owner=alice, name="Work", kind="caldav", url="https://a.example.com/", password="pw")

    use_keys(KEY_B)
    with pytest.raises(CommandError, match=r"accounts\.Account"):
        call_command("rotate_keys", stdout=StringIO())
