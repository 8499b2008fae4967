"""Deployment defaults behind HTTPS: check --deploy is clean, cookies Secure, HSTS and a CSP."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet
from django.conf import settings

PROXY_TLS = {"CALSYNC_BEHIND_TLS_PROXY": "true", "CALSYNC_TRUSTED_PROXIES": "127.0.0.1"}


def production_env(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("CALSYNC_", "DJANGO_"))}
    return {
        **env,
        "CALSYNC_DATA_DIR": str(settings.DATA_DIR),
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "CALSYNC_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "DATABASE_URL": "postgres://calsync:secret@127.0.0.1:5432/calsync",
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
        "ALLOWED_HOSTS": "calsync.example.org",
        "CSRF_TRUSTED_ORIGINS": "https://calsync.example.org",
        **extra,
    }


def check_deploy(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,  # the tests read the exit code and the output
    )


def test_check_deploy_is_clean_in_the_production_profile():
    result = check_deploy(production_env(**PROXY_TLS))

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_fails_a_production_profile_without_https():
    result = check_deploy(production_env())

    assert result.returncode != 0
    for check in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert check in result.stderr


def test_behind_the_tls_proxy_cookies_are_secure_and_hsts_and_csp_are_sent(start_live_app):
    app = start_live_app(env=PROXY_TLS)

    status, headers, _ = app.request("GET", "/admin/login/", headers={"X-Forwarded-Proto": "https"})

    assert status == 200
    assert "; secure" in headers["set-cookie"].lower()
    assert headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
    assert "script-src 'self' 'nonce-" in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]


def test_plain_http_is_redirected_to_https_but_health_probes_are_answered(start_live_app):
    app = start_live_app(env={**PROXY_TLS, "ALLOWED_HOSTS": "calsync.example.org,127.0.0.1"})

    status, headers, _ = app.request("GET", "/admin/login/", headers={"Host": "calsync.example.org"})
    health, _, _ = app.request("GET", "/api/health")

    assert status == 301
    assert headers["location"] == "https://calsync.example.org/admin/login/"
    assert health == 200


@pytest.mark.django_db
def test_only_a_trusted_proxy_may_say_the_request_was_https(settings, client):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_SSL_REDIRECT = True
    settings.CALSYNC_TRUSTED_PROXIES = ["10.0.0.0/8"]

    forged = client.get("/admin/login/", REMOTE_ADDR="203.0.113.5", HTTP_X_FORWARDED_PROTO="https")
    proxied = client.get("/admin/login/", REMOTE_ADDR="10.1.2.3", HTTP_X_FORWARDED_PROTO="https")

    assert forged.status_code == 301
    assert proxied.status_code == 200


def test_every_page_carries_a_csp_with_a_fresh_nonce(live_app):
    first = live_app.request("GET", "/book/")[1]["content-security-policy"]
    second = live_app.request("GET", "/book/")[1]["content-security-policy"]

    assert "default-src 'self'" in first and "object-src 'none'" in first
    assert first != second  # a nonce an attacker could learn once would be worthless
