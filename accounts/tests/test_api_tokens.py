"""API tokens are stored hashed (django-rest-knox); tokens made before keep working."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

OLD_KEY = "0123456789abcdef0123456789abcdef01234567"  # the shape rest_framework.authtoken made


def accounts_status(token: str) -> int:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return api.get("/api/accounts").status_code


def stored_token_columns() -> list[str]:
    return [value for row in AuthToken.objects.values_list("digest", "token_key") for value in row]


def test_an_admin_made_token_is_shown_once_works_and_is_not_stored(admin_client, django_user_model):
    alice = django_user_model.objects.create_user("alice")

    response = admin_client.post("/admin/knox/authtoken/add/", {"user": alice.pk, "expiry": ""}, follow=True)

    token = re.search(r"TOKEN ([0-9a-f]{64})", response.content.decode()).group(1)
    assert accounts_status(token) == 200
    assert token not in stored_token_columns()
    assert admin_client.get("/admin/knox/authtoken/").content.decode().count(token) == 0


@pytest.mark.django_db(transaction=True)
def test_the_migration_hashes_plain_text_tokens_and_drops_them_and_they_keep_working(django_user_model):
    executor = MigrationExecutor(connection)
    executor.migrate([("accounts", "0002_last_check_ok_blank")])
    bob = django_user_model.objects.create_user("bob")
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, created timestamp, user_id integer)")
        cursor.execute(
            "INSERT INTO authtoken_token (key, created, user_id) VALUES (%s, %s, %s)",
            [OLD_KEY, timezone.now(), bob.pk],
        )

    MigrationExecutor(connection).migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    assert "authtoken_token" not in connection.introspection.table_names()
    assert OLD_KEY not in stored_token_columns()
    assert AuthToken.objects.get(user=bob).expiry is None
    assert accounts_status(OLD_KEY) == 200
    assert accounts_status(OLD_KEY[:-1] + "8") == 401
