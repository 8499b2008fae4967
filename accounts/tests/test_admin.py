from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from accounts.models import Account, Collection
from accounts.services import account_create
from calsync.testing.servers import free_port

pytestmark = pytest.mark.django_db


def admin_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def change_form_post(**fields) -> dict:
    """The change form's fields plus the (empty) collections inline's management form."""
    return {
        "collections-TOTAL_FORMS": "0",
        "collections-INITIAL_FORMS": "0",
        "collections-MIN_NUM_FORMS": "0",
        "collections-MAX_NUM_FORMS": "1000",
        "verify_tls": "on",
        **fields,
    }


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


@pytest.fixture
def quick_failures(settings) -> None:
    settings.CALSYNC_HTTP_TIMEOUT = 0.5
    settings.CALSYNC_HTTP_RETRIES = 0


def test_the_change_form_never_contains_the_password(admin_user):
    account = account_create(
        owner=admin_user, name="Work", kind="caldav", url="https://a.example.com/", password="Admin-Hidden-4c1d"
    )

    response = admin_client(admin_user).get(reverse("admin:accounts_account_change", args=[account.pk]))

    assert response.status_code == 200
    assert "Admin-Hidden-4c1d" not in response.content.decode()
    assert 'type="password"' in response.content.decode()


def test_a_rejected_form_does_not_echo_the_typed_password(admin_user):
    account = account_create(owner=admin_user, name="Work", kind="caldav", url="https://a.example.com/")

    response = admin_client(admin_user).post(
        reverse("admin:accounts_account_change", args=[account.pk]),
        change_form_post(name="Work", kind="caldav", url="not a url", password="Typed-Then-Rejected-88"),
    )

    assert response.status_code == 200  # the form again, with errors
    assert "Enter a valid URL" in response.content.decode()
    assert "Typed-Then-Rejected-88" not in response.content.decode()


def test_leaving_the_password_blank_on_edit_keeps_the_stored_one(admin_user):
    account = account_create(owner=admin_user, name="Work", kind="caldav", url="https://a.example.com/", password="k")

    response = admin_client(admin_user).post(
        reverse("admin:accounts_account_change", args=[account.pk]),
        change_form_post(name="Office", kind="caldav", url="https://a.example.com/", password=""),
    )

    assert response.status_code == 302
    account.refresh_from_db()
    assert (account.name, account.password) == ("Office", "k")


def test_typing_a_password_on_edit_replaces_the_stored_one(admin_user):
    account = account_create(owner=admin_user, name="Work", kind="caldav", url="https://a.example.com/", password="o")

    admin_client(admin_user).post(
        reverse("admin:accounts_account_change", args=[account.pk]),
        change_form_post(name="Work", kind="caldav", url="https://a.example.com/", password="new-one"),
    )

    account.refresh_from_db()
    assert account.password == "new-one"


def test_the_clear_password_checkbox_clears_it(admin_user):
    account = account_create(owner=admin_user, name="Work", kind="caldav", url="https://a.example.com/", password="o")

    admin_client(admin_user).post(
        reverse("admin:accounts_account_change", args=[account.pk]),
        change_form_post(name="Work", kind="caldav", url="https://a.example.com/", clear_password="on"),
    )

    account.refresh_from_db()
    assert account.password == ""


def test_typing_a_password_and_ticking_clear_is_refused(admin_user):
    account = account_create(owner=admin_user, name="Work", kind="caldav", url="https://a.example.com/", password="o")

    response = admin_client(admin_user).post(
        reverse("admin:accounts_account_change", args=[account.pk]),
        change_form_post(name="Work", kind="caldav", url="https://a.example.com/", password="n", clear_password="on"),
    )

    assert response.status_code == 200
    assert "not both" in response.content.decode()
    account.refresh_from_db()
    assert account.password == "o"


def test_renaming_to_a_name_the_owner_already_uses_is_a_form_error(admin_user):
    account_create(owner=admin_user, name="Work", kind="caldav", url="https://a.example.com/")
    other = account_create(owner=admin_user, name="Other", kind="caldav", url="https://b.example.com/")

    response = admin_client(admin_user).post(
        reverse("admin:accounts_account_change", args=[other.pk]),
        change_form_post(name="Work", kind="caldav", url="https://b.example.com/"),
    )

    assert response.status_code == 200
    assert "already has an account with this name" in response.content.decode()


def test_adding_an_account_stores_an_encrypted_password_for_the_chosen_owner(admin_user, django_user_model):
    alice = django_user_model.objects.create_user("alice")

    response = admin_client(admin_user).post(
        reverse("admin:accounts_account_add"),
        change_form_post(owner=alice.pk, name="Work", kind="caldav", url="https://a.example.com/", password="add-pw"),
    )

    assert response.status_code == 302, response.content.decode()
    account = Account.objects.get(name="Work")
    assert (account.owner, account.password) == (alice, "add-pw")


def test_the_changelist_shows_kind_url_and_last_check_result(admin_user):
    account_create(owner=admin_user, name="Work", kind="caldav", url="https://listed.example.com/")

    response = admin_client(admin_user).get(reverse("admin:accounts_account_changelist"))

    content = response.content.decode()
    assert "https://listed.example.com/" in content
    assert "CalDAV" in content
    assert "column-last_check_ok" in content


def test_the_test_connection_action_reports_each_account(admin_user, radicale, quick_failures):
    working = account_create(
        owner=admin_user, name="Radicale", kind="caldav", url=radicale.url, username="alice", password="s3cret-pass"
    )
    broken = account_create(
        owner=admin_user, name="Gone", kind="caldav", url=f"http://127.0.0.1:{free_port()}/", password="gone-pw"
    )

    response = admin_client(admin_user).post(
        reverse("admin:accounts_account_changelist"),
        {"action": "test_connection", "_selected_action": [working.pk, broken.pk]},
        follow=True,
    )

    shown = messages_of(response)
    assert any(message.startswith("Radicale: connection OK") for message in shown), shown
    assert any(message.startswith("Gone: connection failed") for message in shown), shown
    assert "s3cret-pass" not in response.content.decode()
    working.refresh_from_db()
    broken.refresh_from_db()
    assert (working.last_check_ok, broken.last_check_ok) == (True, False)


def test_the_discover_action_stores_and_reports_collections(admin_user, radicale):
    account = account_create(
        owner=admin_user, name="Radicale", kind="caldav", url=radicale.url, username="alice", password="s3cret-pass"
    )

    response = admin_client(admin_user).post(
        reverse("admin:accounts_account_changelist"),
        {"action": "discover_collections", "_selected_action": [account.pk]},
        follow=True,
    )

    count = Collection.objects.filter(account=account).count()
    assert messages_of(response) == [messages_of(response)[0]]
    assert messages_of(response)[0].startswith(f"Radicale: {count} collections found.")


def test_the_change_page_has_test_and_discover_buttons_that_work(admin_user, quick_failures):
    account = account_create(owner=admin_user, name="Gone", kind="caldav", url=f"http://127.0.0.1:{free_port()}/")
    client = admin_client(admin_user)
    change_url = reverse("admin:accounts_account_change", args=[account.pk])
    test_url = reverse("admin:accounts_account_test", args=[account.pk])
    discover_url = reverse("admin:accounts_account_discover", args=[account.pk])

    page = client.get(change_url).content.decode()
    tested = client.post(test_url, follow=True)
    discovered = client.post(discover_url, follow=True)

    assert test_url in page and discover_url in page
    assert tested.redirect_chain == [(change_url, 302)]
    assert messages_of(tested)[0].startswith("Gone: connection failed")
    assert messages_of(discovered)[0].startswith("Gone: discovery failed")
    assert client.get(test_url).status_code == 405


def test_the_buttons_need_the_change_permission(django_user_model):
    viewer = django_user_model.objects.create_user("viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_account"))
    account = account_create(owner=viewer, name="Work", kind="caldav", url="https://a.example.com/")

    response = admin_client(viewer).post(reverse("admin:accounts_account_test", args=[account.pk]))

    assert response.status_code == 403
    account.refresh_from_db()
    assert account.last_checked_at is None


def test_the_account_page_lists_its_collections_read_only(admin_user):
    account = account_create(owner=admin_user, name="Work", kind="caldav", url="https://a.example.com/")
    Collection.objects.create(account=account, url="/alice/personal/", kind="calendar", display_name="Personal cal")

    content = admin_client(admin_user).get(reverse("admin:accounts_account_change", args=[account.pk])).content
    collection_list = admin_client(admin_user).get(reverse("admin:accounts_collection_changelist")).content

    assert b"Personal cal" in content
    assert b"/alice/personal/" in content
    assert b'name="collections-0-display_name"' not in content
    assert b"Personal cal" in collection_list


def test_discovery_in_the_admin_shows_address_books_beside_calendars_with_their_counts(admin_user, radicale):
    from accounts.tests.test_api_connection import fill_address_book_and_calendar

    book, _calendar = fill_address_book_and_calendar(radicale, contacts=2, events=1)
    account = account_create(
        owner=admin_user, name="Radicale", kind="caldav", url=radicale.url, username="alice", password="s3cret-pass"
    )
    client = admin_client(admin_user)

    discovered = client.post(reverse("admin:accounts_account_discover", args=[account.pk]), follow=True)

    book_name = Collection.objects.get(account=account, url=book).display_name
    assert f"{book_name} (address book, 2 items)" in messages_of(discovered)[0]
    page = discovered.content.decode()
    assert book in page
    assert 'id="collections-summary"' in page and "address book" in page


def test_the_admin_refuses_a_lan_url_for_an_owner_who_is_not_staff_and_allows_it_for_staff(
    admin_user, django_user_model
):
    bob = django_user_model.objects.create_user("bob")
    url = reverse("admin:accounts_account_add")

    refused = admin_client(admin_user).post(
        url, change_form_post(owner=bob.pk, name="LAN", kind="caldav", url="http://192.168.1.10/dav/")
    )
    allowed = admin_client(admin_user).post(
        url, change_form_post(owner=admin_user.pk, name="LAN", kind="caldav", url="http://192.168.1.10/dav/")
    )

    assert refused.status_code == 200 and "it is a private network address" in refused.content.decode()
    assert allowed.status_code == 302
    assert list(Account.objects.values_list("owner__username", flat=True)) == [admin_user.username]
