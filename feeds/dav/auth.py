"""HTTP Basic with per-device app passwords.

A password is ``<lookup>-<secret>``: the lookup part finds the one row to check, the whole is
verified against a salted slow hash. Calendar clients send the credentials with every request, so a
verified pair is remembered in the cache under a keyed digest (never the password itself) for
``CALSYNC_DAV_AUTH_CACHE_SECONDS``; a cache hit still reads the row, so revoking works at once.
Every check that would hash goes through the brute-force guard first (accounts.lockout): a
locked-out guess raises ``LoginRefused`` (the view answers 429) and a wrong password is recorded
as a failed login, exactly as for the admin and the API. A cache hit skips the guard: those exact
credentials were verified moments ago.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from accounts.lockout import check_login_allowed, login_failed, login_succeeded
from feeds.dav.models import AppPassword

_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"  # no 0/o, 1/l: people type these into phones
_LOOKUP_LENGTH = 8
_LAST_USED_EVERY = timedelta(minutes=5)


def new_app_password(*, user, name: str) -> tuple[AppPassword, str]:
    """A new app password; the plain text is returned once and never stored."""
    lookup = "".join(secrets.choice(_ALPHABET) for _ in range(_LOOKUP_LENGTH))
    secret = "".join(secrets.choice(_ALPHABET) for _ in range(24))
    plain = f"{lookup}-{secret[:6]}-{secret[6:12]}-{secret[12:18]}-{secret[18:]}"
    row = AppPassword.objects.create(user=user, name=name, lookup=lookup, password_hash=make_password(plain))
    return row, plain


def authenticate(request: HttpRequest):
    """The user the request's ``Authorization: Basic`` header proves, or ``None``.

    Raises ``accounts.lockout.LoginRefused`` when the attempt is locked out.
    """
    credentials = _basic_credentials(request.META.get("HTTP_AUTHORIZATION", ""))
    if credentials is None:
        return None
    username, password = credentials
    key = (
        "dav-auth:"
        + hmac.new(settings.SECRET_KEY.encode(), f"{username}\0{password}".encode(), hashlib.sha256).hexdigest()
    )
    cached = cache.get(key)
    if cached is not None:
        row = _active(pk=cached)
    else:
        check_login_allowed(request, username)
        row = _verify(username, password)
        if row is None:
            login_failed(request, username)
            return None
        login_succeeded(request, username)
    if row is None or row.user.get_username() != username:
        return None
    if cached is None:
        cache.set(key, row.pk, settings.CALSYNC_DAV_AUTH_CACHE_SECONDS)
    _touch(row)
    return row.user


def _basic_credentials(header: str) -> tuple[str, str] | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, colon, password = decoded.partition(":")
    return (username, password) if colon and username and password else None


def _active(**identity: object) -> AppPassword | None:
    """The unrevoked app password of an active user, found by ``pk`` or ``lookup``."""
    rows = AppPassword.objects.select_related("user").filter(revoked_at__isnull=True, user__is_active=True)
    return rows.filter(**identity).first()


def _verify(username: str, password: str) -> AppPassword | None:
    lookup = password.partition("-")[0]
    row = _active(lookup=lookup) if len(lookup) == _LOOKUP_LENGTH else None
    if row is None or row.user.get_username() != username or not check_password(password, row.password_hash):
        return None
    return row


def _touch(row: AppPassword) -> None:
    now = timezone.now()
    if row.last_used_at is None or now - row.last_used_at > _LAST_USED_EVERY:
        with transaction.atomic():
            AppPassword.objects.filter(pk=row.pk).update(last_used_at=now)
