from __future__ import annotations

import base64

import pytest
from django.db import connection
from knox.models import AuthToken
from rest_framework.test import APIClient

from accounts.models import Account, Collection
from accounts.serializers import PASSWORD_MAX_LENGTH
from accounts.services import account_create

pytestmark = pytest.mark.django_db


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_every_account_endpoint_requires_authentication(django_user_model):
    alice = django_user_model.objects.create_user("alice")
    account = account_create(owner=alice, name="Work", kind="caldav", url="https://dav.example.com/")
    anonymous = APIClient()

    responses = [
        anonymous.get("/api/accounts"),
        anonymous.post("/api/accounts", {"name": "X", "kind": "caldav", "url": "https://x.example.com/"}),
        anonymous.get(f"/api/accounts/{account.pk}"),
        anonymous.patch(f"/api/accounts/{account.pk}", {"name": "Y"}),
        anonymous.delete(f"/api/accounts/{account.pk}"),
        anonymous.post(f"/api/accounts/{account.pk}/test"),
        anonymous.get(f"/api/accounts/{account.pk}/collections"),
    ]

    assert {response.status_code for response in responses} <= {401, 403}
    assert Account.objects.get(pk=account.pk).name == "Work"


def test_wrong_basic_credentials_are_refused(django_user_model):
    django_user_model.objects.create_user("alice", password="right-password")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Basic " + base64.b64encode(b"alice:wrong-password").decode())

    response = client.get("/api/accounts")

    assert response.status_code in (401, 403)


def test_token_and_basic_authentication_are_accepted(django_user_model):
    alice = django_user_model.objects.create_user("alice", password="login-password")
    _row, token = AuthToken.objects.create(user=alice)
    with_token, with_basic = APIClient(), APIClient()
    with_token.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    with_basic.credentials(HTTP_AUTHORIZATION="Basic " + base64.b64encode(b"alice:login-password").decode())

    assert with_token.get("/api/accounts").status_code == 200
    assert with_basic.get("/api/accounts").status_code == 200


def test_session_authentication_is_accepted(django_user_model):
    alice = django_user_model.objects.create_user("alice", password="login-password")
    client = APIClient()
    client.login(username="alice", password="login-password")

    response = client.get("/api/accounts")

    assert response.status_code == 200
    assert alice.is_authenticated


def test_a_user_lists_only_their_own_accounts(django_user_model):
    alice = django_user_model.objects.create_user("alice")
    bob = django_user_model.objects.create_user("bob")
    account_create(owner=alice, name="Alice's", kind="caldav", url="https://a.example.com/")
    account_create(owner=bob, name="Bob's", kind="caldav", url="https://b.example.com/")

    response = client_for(alice).get("/api/accounts")

    assert response.status_code == 200
    assert [account["name"] for account in response.json()["results"]] == ["Alice's"]


def test_staff_list_every_account(django_user_model):
    alice = django_user_model.objects.create_user("alice")
    bob = django_user_model.objects.create_user("bob")
    staff = django_user_model.objects.create_user("staff", is_staff=True)
    account_create(owner=alice, name="Alice's", kind="caldav", url="https://a.example.com/")
    account_create(owner=bob, name="Bob's", kind="carddav", url="https://b.example.com/")

    response = client_for(staff).get("/api/accounts")

    assert [(a["name"], a["owner_username"]) for a in response.json()["results"]] == [
        ("Alice's", "alice"),
        ("Bob's", "bob"),
    ]


def test_a_user_can_neither_see_nor_touch_another_users_account(django_user_model):
    alice = django_user_model.objects.create_user("alice")
    bob = django_user_model.objects.create_user("bob")
    account = account_create(owner=alice, name="Work", kind="caldav", url="https://a.example.com/", password="pw")
    as_bob = client_for(bob)
    body = {"name": "Mine now", "kind": "caldav", "url": "https://evil.example.com/"}

    responses = [
        as_bob.get(f"/api/accounts/{account.pk}"),
        as_bob.put(f"/api/accounts/{account.pk}", body),
        as_bob.patch(f"/api/accounts/{account.pk}", {"name": "Mine now"}),
        as_bob.delete(f"/api/accounts/{account.pk}"),
        as_bob.post(f"/api/accounts/{account.pk}/test"),
        as_bob.get(f"/api/accounts/{account.pk}/collections"),
    ]

    assert [response.status_code for response in responses] == [404] * 6
    account.refresh_from_db()
    assert (account.name, account.url, account.last_checked_at) == ("Work", "https://a.example.com/", None)


def test_create_read_update_delete(django_user_model):
    alice = django_user_model.objects.create_user("alice")
    client = client_for(alice)

    created = client.post(
        "/api/accounts",
        {"name": "Work", "kind": "caldav", "url": "https://dav.example.com/", "username": "alice", "password": "pw-1"},
    )
    assert created.status_code == 201, created.content
    account_id = created.json()["id"]
    assert created.json()["owner"] == alice.pk
    assert created.json()["owner_username"] == "alice"
    assert created.json()["has_password"] is True

    shown = client.get(f"/api/accounts/{account_id}")
    assert shown.status_code == 200
    assert shown.json()["url"] == "https://dav.example.com/"

    replaced = client.put(
        f"/api/accounts/{account_id}",
        {"name": "Office", "kind": "carddav", "url": "https://contacts.example.com/", "verify_tls": False},
    )
    assert replaced.status_code == 200, replaced.content
    assert (replaced.json()["name"], replaced.json()["kind"], replaced.json()["verify_tls"]) == (
        "Office",
        "carddav",
        False,
    )

    changed = client.patch(f"/api/accounts/{account_id}", {"username": "alice@example.com"}, format="json")
    assert changed.status_code == 200
    assert changed.json()["username"] == "alice@example.com"

    deleted = client.delete(f"/api/accounts/{account_id}")
    assert deleted.status_code == 204
    assert not Account.objects.filter(pk=account_id).exists()


def test_the_owner_is_the_requesting_user_whatever_the_body_says(django_user_model):
    alice = django_user_model.objects.create_user("alice")
    bob = django_user_model.objects.create_user("bob")

    response = client_for(alice).post(
        "/api/accounts", {"name": "Work", "kind": "caldav", "url": "https://a.example.com/", "owner": bob.pk}
    )

    assert response.status_code == 201
    assert Account.objects.get(pk=response.json()["id"]).owner == alice


def test_staff_editing_another_users_account_keeps_its_owner(django_user_model):
    alice = django_user_model.objects.create_user("alice")
    staff = django_user_model.objects.create_user("staff", is_staff=True)
    account = account_create(owner=alice, name="Work", kind="caldav", url="https://a.example.com/")

    response = client_for(staff).patch(f"/api/accounts/{account.pk}", {"name": "Renamed", "owner": staff.pk})

    assert response.status_code == 200
    account.refresh_from_db()
    assert (account.name, account.owner) == ("Renamed", alice)


def test_patch_without_a_password_keeps_the_stored_one(django_user_model):
    alice = django_user_model.objects.create_user("alice")
    account = account_create(owner=alice, name="Work", kind="caldav", url="https://a.example.com/", password="kept")

    response = client_for(alice).patch(f"/api/accounts/{account.pk}", {"name": "Office"}, format="json")

    assert response.status_code == 200
    account.refresh_from_db()
    assert (account.name, account.password) == ("Office", "kept")


def test_put_without_a_password_keeps_the_stored_one(django_user_model):
    alice = django_user_model.objects.create_user("alice")
    account = account_create(owner=alice, name="Work", kind="caldav", url="https://a.example.com/", password="kept")

    response = client_for(alice).put(
        f"/api/accounts/{account.pk}", {"name": "Work", "kind": "caldav", "url": "https://b.example.com/"}
    )

    assert response.status_code == 200
    account.refresh_from_db()
    assert (account.url, account.password) == ("https://b.example.com/", "kept")


def test_patch_with_an_empty_password_clears_it(django_user_model):
    alice = django_user_model.objects.create_user("alice")
    account = account_create(owner=alice, name="Work", kind="caldav", url="https://a.example.com/", password="old")

    response = client_for(alice).patch(f"/api/accounts/{account.pk}", {"password": ""}, format="json")

    assert response.json()["has_password"] is False
    account.refresh_from_db()
    assert account.password == ""


def test_an_unknown_kind_is_a_400_that_lists_the_valid_kinds(django_user_model):
    alice = django_user_model.objects.create_user("alice")

    response = client_for(alice).post("/api/accounts", {"name": "W", "kind": "gopher", "url": "https://a.example.com/"})

    assert response.status_code == 400
    message = response.json()["kind"][0]
    assert "gopher" in message
    assert "caldav" in message
    assert "carddav" in message


def test_a_malformed_url_is_a_400(django_user_model):
    alice = django_user_model.objects.create_user("alice")

    response = client_for(alice).post("/api/accounts", {"name": "W", "kind": "caldav", "url": "dav.example.com"})

    assert response.status_code == 400
    assert "url" in response.json()


@pytest.mark.parametrize("method", ["post", "patch"])
def test_a_name_already_used_by_the_same_owner_is_a_400_not_a_500(django_user_model, method):
    alice = django_user_model.objects.create_user("alice")
    account_create(owner=alice, name="Work", kind="caldav", url="https://a.example.com/")
    other = account_create(owner=alice, name="Other", kind="caldav", url="https://b.example.com/")
    client = client_for(alice)

    if method == "post":
        response = client.post("/api/accounts", {"name": "Work", "kind": "caldav", "url": "https://c.example.com/"})
    else:
        response = client.patch(f"/api/accounts/{other.pk}", {"name": "Work"})

    assert response.status_code == 400
    assert "name" in response.json()


def test_urls_answer_with_and_without_a_trailing_slash(django_user_model):
    alice = django_user_model.objects.create_user("alice")
    account = account_create(owner=alice, name="Work", kind="caldav", url="https://a.example.com/")
    client = client_for(alice)

    assert client.get("/api/accounts").status_code == 200
    assert client.get("/api/accounts/").status_code == 200
    assert client.get(f"/api/accounts/{account.pk}").status_code == 200
    assert client.get(f"/api/accounts/{account.pk}/").status_code == 200
    assert client.get(f"/api/accounts/{account.pk}/collections?discover=false").status_code == 200
    assert client.get(f"/api/accounts/{account.pk}/collections/?discover=false").status_code == 200
    assert client.get("/api/accounts/not-a-number").status_code == 404


def test_collections_without_discovery_lists_the_stored_rows(django_user_model):
    alice = django_user_model.objects.create_user("alice")
    account = account_create(owner=alice, name="Work", kind="caldav", url="https://a.example.com/")
    Collection.objects.create(account=account, url="/alice/work/", kind="calendar", display_name="Work")

    response = client_for(alice).get(f"/api/accounts/{account.pk}/collections?discover=false")

    assert response.status_code == 200
    assert [(c["url"], c["display_name"]) for c in response.json()] == [("/alice/work/", "Work")]


def test_a_bad_discover_flag_is_a_400(django_user_model):
    alice = django_user_model.objects.create_user("alice")
    account = account_create(owner=alice, name="Work", kind="caldav", url="https://a.example.com/")

    response = client_for(alice).get(f"/api/accounts/{account.pk}/collections?discover=maybe")

    assert response.status_code == 400
    assert "discover" in response.json()


def test_the_password_column_holds_ciphertext_after_an_api_create(django_user_model):
    alice = django_user_model.objects.create_user("alice")

    response = client_for(alice).post(
        "/api/accounts", {"name": "W", "kind": "caldav", "url": "https://a.example.com/", "password": "plain-pw-42"}
    )

    with connection.cursor() as cursor:
        cursor.execute("SELECT password FROM accounts_account WHERE id = %s", [response.json()["id"]])
        stored = bytes(cursor.fetchone()[0])
    assert b"plain-pw-42" not in stored
    assert stored.startswith(b"gAAAAA")


def test_the_password_never_appears_in_any_response(django_user_model):
    password = "Never-Shown-7f3a"
    alice = django_user_model.objects.create_user("alice")
    client = client_for(alice)
    created = client.post(
        "/api/accounts",
        {"name": "Work", "kind": "caldav", "url": "https://a.example.com/", "username": "u", "password": password},
        format="json",
    )
    account_id = created.json()["id"]
    detail = f"/api/accounts/{account_id}"
    body = {"name": "Work", "kind": "caldav", "url": "https://a.example.com/", "password": password}

    responses = {
        "create": created,
        "list": client.get("/api/accounts"),
        "retrieve": client.get(detail),
        "retrieve (browsable API)": client.get(detail, HTTP_ACCEPT="text/html"),
        "options": client.options(detail),
        "update": client.put(detail, body, format="json"),
        "partial update": client.patch(detail, {"password": password}, format="json"),
        "duplicate name": client.post("/api/accounts", body, format="json"),
        "unknown kind": client.post("/api/accounts", {**body, "name": "X", "kind": "gopher"}, format="json"),
        "malformed url": client.post("/api/accounts", {**body, "name": "X", "url": "nope"}, format="json"),
        "too long": client.patch(detail, {"password": password * 200}, format="json"),
        "not a string": client.patch(detail, {"password": {"secret": password}}, format="json"),
        "stored collections": client.get(f"{detail}/collections?discover=false"),
    }

    assert responses["create"].status_code == 201
    assert responses["too long"].status_code == 400
    assert len(password * 200) > PASSWORD_MAX_LENGTH
    for name, response in responses.items():
        assert password not in response.content.decode(), name
