"""manage.py ensure_admin: the first login of a fresh install."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_password_in_the_environment(monkeypatch):
    monkeypatch.delenv("CALSYNC_ADMIN_PASSWORD", raising=False)
    monkeypatch.delenv("CALSYNC_ADMIN_PASSWORD_FILE", raising=False)


def ensure_admin() -> str:
    out = StringIO()
    call_command("ensure_admin", stdout=out)
    return out.getvalue()


def test_a_generated_password_is_printed_once_with_the_login_url(monkeypatch):
    monkeypatch.setenv("PORT", "8123")
    output = ensure_admin()
    password = re.search(r"password:\s+(\S+)", output).group(1)
    assert "http://localhost:8123/admin/" in output
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff
    assert admin.check_password(password)
    assert len(password) >= 16

    again = ensure_admin()
    assert password not in again
    assert "nothing to do" in again


def test_a_password_from_the_environment_is_used_and_never_printed(monkeypatch):
    monkeypatch.setenv("CALSYNC_ADMIN_PASSWORD", "correct-horse-battery-staple")
    output = ensure_admin()
    assert "correct-horse-battery-staple" not in output
    assert "CALSYNC_ADMIN_PASSWORD" in output
    assert get_user_model().objects.get(username="admin").check_password("correct-horse-battery-staple")


def test_a_password_file_is_used_and_never_printed(monkeypatch, tmp_path):
    (tmp_path / "admin_password").write_text("from-a-docker-secret-file\n")
    monkeypatch.setenv("CALSYNC_ADMIN_PASSWORD_FILE", str(tmp_path / "admin_password"))
    output = ensure_admin()
    assert "from-a-docker-secret-file" not in output
    assert get_user_model().objects.get(username="admin").check_password("from-a-docker-secret-file")


def test_running_it_again_changes_nothing(monkeypatch):
    monkeypatch.setenv("CALSYNC_ADMIN_PASSWORD", "first-password-here")
    ensure_admin()
    monkeypatch.setenv("CALSYNC_ADMIN_PASSWORD", "second-password-here")
    ensure_admin()
    admins = get_user_model().objects.filter(is_superuser=True)
    assert admins.count() == 1
    assert admins.get().check_password("first-password-here")


def test_an_existing_superuser_of_any_name_means_nothing_is_created():
    get_user_model().objects.create_superuser(username="ops", email="", password="irrelevant-password")
    assert "nothing to do" in ensure_admin()
    assert not get_user_model().objects.filter(username="admin").exists()


def test_an_ordinary_user_called_admin_is_not_promoted():
    get_user_model().objects.create_user(username="admin", password="an-ordinary-password")
    with pytest.raises(CommandError, match="not a superuser"):
        ensure_admin()
    assert not get_user_model().objects.get(username="admin").is_superuser
