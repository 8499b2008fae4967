"""DRF authentication: HTTP Basic behind the brute-force guard (see accounts.lockout)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.authentication import BasicScheme
from rest_framework.authentication import BasicAuthentication
from rest_framework.exceptions import AuthenticationFailed, Throttled

from accounts.lockout import LoginRefused, check_login_allowed, login_succeeded, refuse_if_now_locked


class GuardedBasicAuthentication(BasicAuthentication):
    """Basic auth whose locked-out guesses get 429 with ``Retry-After`` before any hashing.

    Failures are recorded by axes through ``django.contrib.auth.authenticate``'s
    ``user_login_failed`` signal, which the parent class triggers.
    """

    def authenticate_credentials(self, userid: str, password: str, request: Any = None) -> tuple:
        try:
            check_login_allowed(request, userid)
            try:
                user_and_auth = super().authenticate_credentials(userid, password, request)
            except AuthenticationFailed:
                refuse_if_now_locked(request)
                raise
        except LoginRefused as refused:
            raise Throttled(wait=refused.retry_after, detail=refused.message) from None
        login_succeeded(request, userid)
        return user_and_auth


class GuardedBasicScheme(BasicScheme):
    """The OpenAPI document describes the guarded class as plain HTTP Basic."""

    target_class = "accounts.authentication.GuardedBasicAuthentication"
