"""CalDAV server test helpers: users with app passwords and a client speaking WebDAV methods."""

from __future__ import annotations

import base64
from dataclasses import dataclass

import pytest
from django.contrib.auth.models import User
from django.test import Client

from feeds.dav.services import app_password_create


@pytest.fixture(autouse=True)
def fast_password_hashing(settings) -> None:
    """App passwords are random and long; the slow hash only matters in production."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@dataclass
class DavClient:
    """Django's test client with Basic credentials and the WebDAV verbs."""

    client: Client
    username: str
    password: str

    @property
    def home(self) -> str:
        return f"/dav/calendars/{self.username}/"

    def request(
        self, method: str, path: str, body: bytes | str = b"", *, content_type: str = "application/xml", **headers: str
    ):
        token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        return self.client.generic(
            method, path, body, content_type=content_type, headers={"Authorization": f"Basic {token}", **headers}
        )

    def propfind(self, path: str, body: str = "", depth: str = "0"):
        return self.request("PROPFIND", path, body, Depth=depth)

    def report(self, path: str, body: str, depth: str = "1"):
        return self.request("REPORT", path, body, Depth=depth)

    def put(self, path: str, data: bytes | str, **headers: str):
        return self.request("PUT", path, data, content_type="text/calendar; charset=utf-8", **headers)

    def get(self, path: str):
        return self.request("GET", path)

    def delete(self, path: str, **headers: str):
        return self.request("DELETE", path, **headers)

    def mkcalendar(self, path: str, body: str = ""):
        return self.request("MKCALENDAR", path, body)


def make_user(username: str, *, email: str = "") -> tuple[User, str]:
    user = User.objects.create_user(username, email=email or f"{username}@example.org")
    _, password = app_password_create(user=user, name="test device")
    return user, password


@pytest.fixture
def alice(db) -> DavClient:
    _, password = make_user("alice")
    return DavClient(Client(), "alice", password)


@pytest.fixture
def bob(db) -> DavClient:
    _, password = make_user("bob")
    return DavClient(Client(), "bob", password)
