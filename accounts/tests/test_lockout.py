"""The brute-force guard in process: locked-out guesses never reach a password hash."""

from __future__ import annotations

import base64
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import MD5PasswordHasher
from django.test import Client
from rest_framework.test import APIClient

from feeds.dav.auth import new_app_password

LIMIT = 3


class CountingHasher(MD5PasswordHasher):
    """A fast hasher that counts the hashes computed: each one is the work a guess costs."""

    algorithm = "counting_md5"
    hashes = 0

    def encode(self, password: str, salt: str) -> str:
        CountingHasher.hashes += 1
        return super().encode(password, salt)


@pytest.fixture(autouse=True)
def counting_hasher(settings):
    settings.PASSWORD_HASHERS = ["accounts.tests.test_lockout.CountingHasher"]
    settings.AXES_FAILURE_LIMIT = LIMIT


def address() -> str:
    return f"198.18.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"


def basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


@pytest.mark.django_db
def test_locked_out_api_guesses_are_refused_without_hashing():
    user = get_user_model().objects.create_user(f"ann-{uuid.uuid4().hex[:6]}", password="right-password")
    api = APIClient(REMOTE_ADDR=address())
    for n in range(LIMIT):
        api.get("/api/accounts", HTTP_AUTHORIZATION=basic(user.username, f"wrong-{n}"))
    before = CountingHasher.hashes

    answers = [api.get("/api/accounts", HTTP_AUTHORIZATION=basic(user.username, "right-password")) for _ in range(8)]

    assert {answer.status_code for answer in answers} == {429}
    assert CountingHasher.hashes == before


@pytest.mark.django_db
def test_locked_out_admin_logins_are_refused_without_hashing():
    get_user_model().objects.create_user("staffer", password="right-password", is_staff=True)
    browser = Client(REMOTE_ADDR=address())
    for n in range(LIMIT):
        browser.post("/admin/login/", {"username": "staffer", "password": f"wrong-{n}"})
    before = CountingHasher.hashes

    answer = browser.post("/admin/login/", {"username": "staffer", "password": "right-password"})

    assert answer.status_code == 429
    assert b"Too many failed sign-ins" in answer.content
    assert CountingHasher.hashes == before


@pytest.mark.django_db
def test_locked_out_caldav_guesses_are_refused_without_hashing():
    user = get_user_model().objects.create_user(f"cal-{uuid.uuid4().hex[:6]}")
    _row, password = new_app_password(user=user, name="phone")
    phone = Client(REMOTE_ADDR=address())
    for n in range(LIMIT):  # wrong guesses, each longer than the password so none is it by chance
        phone.generic("PROPFIND", "/dav/", HTTP_AUTHORIZATION=basic(user.username, f"{password}-{n}"))
    before = CountingHasher.hashes

    answer = phone.generic("PROPFIND", "/dav/", HTTP_AUTHORIZATION=basic(user.username, password))

    assert answer.status_code == 429
    assert int(answer["Retry-After"]) > 0
    assert CountingHasher.hashes == before


@pytest.mark.django_db
def test_a_correct_password_from_another_address_still_works_during_a_lock_out():
    user = get_user_model().objects.create_user(f"bea-{uuid.uuid4().hex[:6]}", password="right-password")
    attacker = APIClient(REMOTE_ADDR=address())
    for n in range(LIMIT):
        attacker.get("/api/accounts", HTTP_AUTHORIZATION=basic(user.username, f"wrong-{n}"))

    answer = APIClient(REMOTE_ADDR=address()).get(
        "/api/accounts", HTTP_AUTHORIZATION=basic(user.username, "right-password")
    )

    assert answer.status_code == 200
