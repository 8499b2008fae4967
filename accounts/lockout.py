"""Brute-force protection for every password check: admin login, API Basic auth and CalDAV.

Two layers, both consulted *before* a password is hashed, so a refused guess costs a query, not
a PBKDF2 run (eight guessers hashing flat out made every other request ~50 times slower):

- django-axes counts failures per (user name, client address) and per client address and locks
  either out for ``CALSYNC_LOGIN_COOLOFF_MINUTES`` after ``CALSYNC_LOGIN_FAILURE_LIMIT`` failures.
  An attacker's failures are recorded under *their* address, so the real user signing in from
  elsewhere is not locked out. Lock-outs are listed, and lifted, in the admin (Axes → Access
  attempts: delete the row).
- A per-user-name limit slows a guesser who spreads over many addresses without locking the user
  out: once a name has ``CALSYNC_LOGIN_USERNAME_FAILURE_LIMIT`` failures in a cool-off window,
  further attempts for it are refused *only from addresses that never signed in as that user*.
  The user keeps signing in from their own devices; a stranger's botnet gets that many guesses per
  window in total.

The client address is ``calsync.client_address.client_ip`` (trusted proxies only), the same one
axes and the booking limit use.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from typing import Any

from axes.backends import AxesStandaloneBackend
from axes.handlers.proxy import AxesProxyHandler
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db.models import Max
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from calsync.client_address import client_ip

LOCKED_MESSAGE = "Too many failed sign-ins from this address. Try again later."
USERNAME_MESSAGE = (
    "Too many failed sign-ins for this user name. Sign in from a device you used before, or try again later."
)
KNOWN_ADDRESS_DAYS = 90


class LoginRefused(Exception):
    """A password check refused before it ran; ``retry_after`` in whole seconds."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


def _cooloff_seconds() -> int:
    return int(settings.AXES_COOLOFF_TIME.total_seconds())


def _digest(*parts: str) -> str:
    # Keyed: cache keys and their TTLs must not tell which user names or addresses were tried.
    joined = "\0".join(parts).encode()
    return hmac.new(settings.SECRET_KEY.encode(), joined, hashlib.sha256).hexdigest()[:40]


def _failures_key(username: str) -> str:
    # Fixed windows of one cool-off: the key names its window, so no backend's TTL handling matters.
    window = int(time.time() // _cooloff_seconds())
    return f"login-failures:{_digest(username.casefold())}:{window}"


def _known_key(username: str, address: str) -> str:
    return f"login-known:{_digest(username.casefold(), address)}"


def retry_after_seconds(request: HttpRequest) -> int:
    """Seconds until this address's lock-out ends (the cool-off counts from its last failure)."""
    latest = AccessAttempt.objects.filter(ip_address=client_ip(request)).aggregate(last=Max("attempt_time"))["last"]
    if latest is None:
        return _cooloff_seconds()
    remaining = (latest + settings.AXES_COOLOFF_TIME - timezone.now()).total_seconds()
    return max(1, math.ceil(remaining))


def username_throttled(request: HttpRequest, username: str) -> bool:
    limit = settings.CALSYNC_LOGIN_USERNAME_FAILURE_LIMIT
    if not username or limit <= 0:
        return False
    if (cache.get(_failures_key(username)) or 0) < limit:
        return False
    return cache.get(_known_key(username, client_ip(request))) is None


def check_login_allowed(request: Any, username: str) -> None:
    """Raise ``LoginRefused`` when this attempt must not reach a password hash.

    ``request`` is a Django ``HttpRequest`` or DRF's ``Request`` (which proxies it).
    """
    if not AxesProxyHandler.is_allowed(request, {"username": username}):
        raise LoginRefused(LOCKED_MESSAGE, retry_after_seconds(request))
    if username_throttled(request, username):
        raise LoginRefused(USERNAME_MESSAGE, _cooloff_seconds())


def login_failed(request: Any, username: str) -> None:
    """Record a failed password check made outside ``django.contrib.auth.authenticate`` (CalDAV).

    Raises ``LoginRefused`` when this failure was the one that reached the limit.
    """
    user_login_failed.send(sender=__name__, credentials={"username": username}, request=request)
    refuse_if_now_locked(request)


def refuse_if_now_locked(request: Any) -> None:
    """The failure that reaches the limit is answered like the refusals after it (axes flags it)."""
    if getattr(request, "axes_locked_out", False):
        raise LoginRefused(LOCKED_MESSAGE, retry_after_seconds(request))


def login_succeeded(request: Any, username: str) -> None:
    """Remember the address as one this user signs in from (exempt from the user-name limit)."""
    # add, not set: API Basic auth signs in on every request, and a read is cheaper than a write.
    cache.add(_known_key(username, client_ip(request)), 1, KNOWN_ADDRESS_DAYS * 86400)


def _count_failure(sender: object, credentials: dict, request: Any = None, **kwargs: object) -> None:
    username = credentials.get("username") or ""
    # A refused attempt checked no password: it is not a guess, and must not cost a write.
    if not username or request is None or getattr(request, "axes_locked_out", False):
        return
    key, keep = _failures_key(username), 2 * _cooloff_seconds()
    if cache.add(key, 1, keep):
        return
    try:
        cache.incr(key)  # atomic on Redis
    except ValueError:  # expired between add and incr
        cache.set(key, 1, keep)
    # Non-Redis caches re-set the entry with the default timeout on incr: keep it for its window.
    cache.touch(key, keep)


def _remember_login(sender: object, request: Any, user: Any, **kwargs: object) -> None:
    if request is not None:
        login_succeeded(request, user.get_username())


def connect_signals() -> None:
    user_login_failed.connect(_count_failure, dispatch_uid="calsync-login-failures")
    user_logged_in.connect(_remember_login, dispatch_uid="calsync-login-known")


class LoginGuardBackend(AxesStandaloneBackend):
    """First in ``AUTHENTICATION_BACKENDS``: refuses locked-out and throttled attempts; never logs in.

    Raising ``PermissionDenied`` stops ``authenticate`` before ``ModelBackend`` hashes anything;
    ``request.axes_locked_out`` makes axes' middleware answer with the lock-out page. A call
    without a request (a management command, the test client's ``login``) did not come over the
    network, so there is nothing to guard.
    """

    def authenticate(self, request: Any, username: str | None = None, password: str | None = None, **kwargs: Any):
        if request is None:
            return
        super().authenticate(request, username, password, **kwargs)
        if username and username_throttled(request, username):
            request.axes_locked_out = True
            request.calsync_refusal = USERNAME_MESSAGE
            raise PermissionDenied(USERNAME_MESSAGE)
        return


def lockout_response(request: HttpRequest, original_response: HttpResponse | None = None, credentials: Any = None):
    """``AXES_LOCKOUT_CALLABLE``: the admin login's lock-out page, 429 with ``Retry-After``.

    A view that already answered 429 (the API, CalDAV) keeps its own answer, in its own format.
    """
    if original_response is not None and original_response.status_code == 429:
        return original_response
    message = getattr(request, "calsync_refusal", LOCKED_MESSAGE)
    retry_after = _cooloff_seconds() if message == USERNAME_MESSAGE else retry_after_seconds(request)
    context = {"minutes": math.ceil(retry_after / 60), "message": message}
    response = render(request, "axes/lockout.html", context, status=429)
    response["Retry-After"] = str(retry_after)
    return response
