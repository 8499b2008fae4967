"""HTTP security headers Django does not send by itself, and the proxy headers it must not trust.

Django 5.2 has no Content-Security-Policy. The policy here allows scripts only from calsync's own
origin or carrying the per-request nonce (``{{ request.csp_nonce }}`` on the two inline scripts:
the booking page and a sync run's live progress), so injected markup cannot run script. Styles
may be inline (the admin and Swagger UI set style attributes; CSS cannot run code). Pages may
not be framed (clickjacking), forms post only to calsync, and plugins are off.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from calsync.client_address import peer_is_trusted_proxy


def content_security_policy(nonce: str) -> str:
    directives = [
        "default-src 'self'",
        f"script-src 'self' 'nonce-{nonce}'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ]
    if settings.CALSYNC_HTTPS:
        directives.append("upgrade-insecure-requests")
    return "; ".join(directives)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.csp_nonce = secrets.token_urlsafe(16)  # type: ignore[attr-defined]
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = content_security_policy(request.csp_nonce)  # type: ignore[attr-defined]
        return response


class UntrustedProxyHeadersMiddleware:
    """Drop ``X-Forwarded-Proto`` unless it comes from a trusted proxy.

    ``SECURE_PROXY_SSL_HEADER`` makes Django believe that header from anyone; with
    ``CALSYNC_TRUSTED_PROXIES`` set, only the proxies named there may claim the request was HTTPS.
    First in the middleware list, before SecurityMiddleware reads it.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "HTTP_X_FORWARDED_PROTO" in request.META and peer_is_trusted_proxy(request) is False:
            del request.META["HTTP_X_FORWARDED_PROTO"]
        return self.get_response(request)
