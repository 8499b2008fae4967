"""The one outbound HTTP seam: every connector talks to the outside world through ``HttpClient``.

It owns what every remote call needs and no connector should re-implement: mandatory timeouts,
bounded retries of transient failures (only where a replay cannot do harm), a response size cap,
the address policy (``addresses.py``: what an account's owner may reach, checked on the address
actually dialled, redirects included), redirects that never carry credentials to another origin,
and error messages a person can act on. Messages and log lines name the host and path only:
never credentials, URL userinfo, query strings or headers.
"""

from __future__ import annotations

import email.utils
import errno
import http.client
import logging
import random
import socket
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urljoin, urlsplit

from django.conf import settings

from calsync.lib.addresses import AddressGuard, AddressRefused, NetworkPolicy, Resolver
from calsync.lib.digest import DigestAuth
from calsync.lib.errors import AuthError, ConfigError, ProtocolError, TransientError
from calsync.lib.reach import (  # re-exported: see __all__
    credentials_from_url,
    display_url,
    host_port,
    network_policy,
    normalize_url,
    origin_of,
    refused_error,
)
from calsync.lib.transport import (
    BodyTooLarge,
    ConnectFailed,
    Fields,
    RawResponse,
    Transport,
    UndecodableBody,
    basic_authorization,
    request_target,
)
from calsync.lib.wire import Headers

logger = logging.getLogger("calsync.http")

# The client, and the URL helpers every connector imports from here (defined in reach.py).
__all__ = [
    "HttpClient", "HttpResponse",
    "credentials_from_url", "display_url", "host_port", "network_policy", "normalize_url", "origin_of", "refused_error",
]  # fmt: skip

USER_AGENT = "calsync/1.0"
RETRY_STATUSES = frozenset({429, 502, 503, 504})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PROPFIND", "REPORT"})
MAX_REDIRECTS = 5
# Authorize-As: the user an admin login acts for (Cyrus proxy authorisation) is part of the login.
CREDENTIAL_FIELDS = frozenset({"authorization", "cookie", "authorize-as"})
BACKOFF_BASE_SECONDS = 0.5
BACKOFF_MAX_SECONDS = 8.0
# A worker must not sleep for minutes inside one request: a longer Retry-After is handed to the
# caller as TransientError.retry_after so the task can be rescheduled instead.
RETRY_AFTER_CAP_SECONDS = 30.0

AuthScheme = Literal["basic", "digest"]


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    headers: Headers  # case-insensitive .get(); .get_all() for repeated fields
    content: bytes
    url: str  # the final URL, after redirects

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type") or ""


# --- the client ---------------------------------------------------------------------------------


class HttpClient:
    """Keeps one connection per host open for a connector's whole run, so a sync of thousands of
    items pays for one TCP (and TLS) handshake per host.

    Not thread-safe: a client belongs to one connector, and a connector to one run on one thread.
    Settings are read when the client is built; tests override them with pytest-django's
    ``settings`` fixture before building a connector.
    """

    def __init__(
        self,
        *,
        username: str = "",
        password: str = "",
        auth_scheme: AuthScheme = "basic",
        verify_tls: bool = True,
        timeout: float | None = None,
        retries: int | None = None,
        max_response_bytes: int | None = None,
        network: NetworkPolicy | None = None,
        resolver: Resolver | None = None,
        authorize_as: str = "",
    ) -> None:
        self.timeout = float(settings.CALSYNC_HTTP_TIMEOUT if timeout is None else timeout)
        self.retries = int(settings.CALSYNC_HTTP_RETRIES if retries is None else retries)
        self.max_response_bytes = int(
            settings.CALSYNC_HTTP_MAX_RESPONSE_BYTES if max_response_bytes is None else max_response_bytes
        )
        # No policy: the operator's own code (a bench, a test, a CLI given a URL) with staff rights.
        # Connectors built from an account always carry the owner's policy.
        self.network = network if network is not None else network_policy(staff=True)
        self._has_credentials = bool(username or password)
        self._authorize_as = authorize_as if self._has_credentials else ""
        self._headers: Fields = {
            "User-Agent": USER_AGENT,
            "Accept": "*/*",
            "Accept-Encoding": "gzip",  # decoded (and size-capped) by the transport
            # An HTTP/1.0 server closes after every answer unless asked not to (RFC 9112 appendix C.2.2).
            "Connection": "keep-alive",
        }
        self._digest: DigestAuth | None = None
        if self._has_credentials and auth_scheme == "digest":
            # Digest for servers (and some ICS hosts) that refuse Basic; it costs one extra round trip.
            self._digest = DigestAuth(username, password)
        elif self._has_credentials:
            self._headers["Authorization"] = basic_authorization(username, password)
        if self._authorize_as:
            # The login is an admin's, acting for ``authorize_as`` (Cyrus httpd: the admin listed in
            # proxyservers, on a Murder backend). Like Authorization, it goes to the origin only.
            self._headers["Authorize-As"] = self._authorize_as
        self._transport = Transport(
            timeout=self.timeout, verify_tls=verify_tls, guard=AddressGuard(self.network, resolver)
        )

    def __repr__(self) -> str:
        return f"<HttpClient timeout={self.timeout:g} retries={self.retries}>"  # never the credentials

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._transport.close()

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
        max_bytes: int | None = None,
        follow_redirects: bool = True,
    ) -> HttpResponse:
        """Send one request and return the whole response.

        Raises AuthError on 401, TransientError for network failures and for 429/502/503/504 once
        retries are spent, ProtocolError for a body over the size limit, ConfigError for a blocked
        address or a bad URL. Every other status is returned for the caller to interpret.
        """
        method = method.upper()
        url = normalize_url(url)
        limit = self.max_response_bytes if max_bytes is None else max_bytes
        first = url
        for _hop in range(MAX_REDIRECTS + 1):
            # Credentials (ours and an Authorization the caller passed) go to the origin the request
            # was made for, never to another one a redirect names: that host was not trusted with them.
            same_origin = origin_of(url) == origin_of(first)
            try:
                response = self._send_with_retries(method, url, headers, content, limit, credentials=same_origin)
            except AuthError as exc:
                if same_origin:
                    raise
                raise AuthError(
                    f"{display_url(first)} redirects to another server ({host_port(url)}), which asks for a login; "
                    "calsync sends credentials only to the server named in the account: use the URL "
                    f"{display_url(url)} instead",
                    status=exc.status,
                    url=display_url(first),
                ) from None
            location = response.headers.get("location")
            if not follow_redirects or response.status not in REDIRECT_STATUSES or not location:
                return response
            target = normalize_url(urljoin(url, location))
            if urlsplit(url).scheme == "https" and urlsplit(target).scheme == "http":
                raise ConfigError(
                    f"{display_url(url)} redirects to plain http ({display_url(target)}); refusing to send "
                    "credentials without TLS",
                    url=display_url(url),
                )
            if response.status == 303:
                method, content = "GET", None
            url = target
        raise ProtocolError(f"More than {MAX_REDIRECTS} redirects starting at {display_url(url)}", url=display_url(url))

    # --- internals ------------------------------------------------------------------------------

    def _send_with_retries(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        content: bytes | None,
        limit: int,
        *,
        credentials: bool = True,
    ) -> HttpResponse:
        replayable = _replay_is_safe(method, headers)
        attempt = 0
        while True:
            try:
                response = self._send_once(method, url, headers, content, limit, replayable, credentials)
            except AddressRefused as exc:
                raise refused_error(exc, url) from None
            except BodyTooLarge:
                raise _too_large(url, limit) from None
            except UndecodableBody:
                raise ProtocolError(
                    f"{display_url(url)} sent a body that cannot be decoded as its Content-Encoding says",
                    url=display_url(url),
                ) from None
            except http.client.InvalidURL:
                raise ConfigError(f"{display_url(url)} is not a valid URL", url=display_url(url)) from None
            except (ConnectFailed, OSError, http.client.HTTPException) as exc:
                error = _transport_error(exc, url, self.timeout)
                # A failed connect never reached the server, so any method may be sent again.
                nothing_sent = isinstance(exc, ConnectFailed)
                if isinstance(error, TransientError) and attempt < self.retries and (nothing_sent or replayable):
                    self._pause(attempt, method, url, type(exc.__cause__ or exc).__name__, None)
                    attempt += 1
                    continue
                raise error from exc
            if response.status == 401:
                problem = "it rejected the username or password" if self._has_credentials else "it needs a login"
                if self._authorize_as and credentials:
                    problem += (
                        f", or the admin may not act for {self._authorize_as} (Authorize-As: Cyrus allows it only "
                        "to an admin in proxyservers on a Murder backend)"
                    )
                raise AuthError(
                    f"The server answered 401: {problem} ({host_port(url)})", status=401, url=display_url(url)
                )
            if response.status not in RETRY_STATUSES:
                return response
            retry_after = _retry_after_seconds(response.headers.get("retry-after"))
            if replayable and attempt < self.retries and (retry_after or 0) <= RETRY_AFTER_CAP_SECONDS:
                self._pause(attempt, method, url, f"status {response.status}", retry_after)
                attempt += 1
                continue
            raise _status_transient(response, method, url, retry_after)

    def _send_once(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        content: bytes | None,
        limit: int,
        replayable: bool,
        credentials: bool = True,
    ) -> HttpResponse:
        started = time.monotonic()
        fields = {**self._headers, **headers} if headers else self._headers
        if not credentials:
            fields = {name: value for name, value in fields.items() if name.lower() not in CREDENTIAL_FIELDS}

        def send(fields: Fields) -> RawResponse:
            return self._transport.send(method, url, fields, content, limit=limit, resendable=replayable)

        if self._digest is None or not credentials:
            raw = send(fields)
        else:
            raw = self._digest.exchange(send, method, request_target(urlsplit(url)), fields)
        if logger.isEnabledFor(logging.DEBUG):  # display_url() costs more than the rest of the bookkeeping
            elapsed_ms = (time.monotonic() - started) * 1000
            where = display_url(url)
            logger.debug("%s %s -> %s (%d bytes, %.0f ms)", method, where, raw.status, len(raw.content), elapsed_ms)
        return HttpResponse(raw.status, raw.headers, raw.content, url)

    def _pause(self, attempt: int, method: str, url: str, reason: str, retry_after: float | None) -> None:
        if retry_after is not None:
            delay = retry_after + random.uniform(0, 0.25)  # noqa: S311 - jitter, not crypto
        else:
            ceiling = min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * 2**attempt)
            # Jitter keeps parallel workers that failed together from retrying in lockstep.
            delay = random.uniform(ceiling / 2, ceiling)  # noqa: S311
        logger.warning(
            "%s %s failed (%s); retry %d of %d in %.1f s",
            method,
            display_url(url),
            reason,
            attempt + 1,
            self.retries,
            delay,
        )
        time.sleep(delay)


def _replay_is_safe(method: str, headers: Mapping[str, str] | None) -> bool:
    if method in SAFE_METHODS:
        return True
    if method in ("PUT", "DELETE") and headers:
        names = {name.lower() for name in headers}
        # Why: a conditional write that already landed fails its replay with 412 (or 404 for a
        # DELETE) instead of overwriting a change made in between, and 412 means re-read anyway.
        return "if-match" in names or "if-none-match" in names
    return False


def _retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _status_transient(response: HttpResponse, method: str, url: str, retry_after: float | None) -> TransientError:
    what = "is rate limiting calsync (429)" if response.status == 429 else f"answered {response.status}"
    return TransientError(
        f"{host_port(url)} {what} to {method} {urlsplit(url).path}; try again later",
        status=response.status,
        url=display_url(url),
        retry_after=retry_after,
    )


def _too_large(url: str, limit: int) -> ProtocolError:
    return ProtocolError(
        f"The response from {display_url(url)} is larger than the limit of {limit} bytes "
        "(CALSYNC_HTTP_MAX_RESPONSE_BYTES)",
        url=display_url(url),
    )


def _causes(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _transport_error(exc: Exception, url: str, timeout: float) -> TransientError | ConfigError:
    where = host_port(url)
    safe_url = display_url(url)
    for cause in _causes(exc):
        if isinstance(cause, TimeoutError):  # socket.timeout, on connect or on read
            return TransientError(f"Timed out after {timeout:g} s: no answer from {where}", url=safe_url)
        if isinstance(cause, ssl.SSLCertVerificationError):
            return ConfigError(
                f"The TLS certificate of {where} could not be verified ({cause.verify_message}); "
                "fix the certificate or turn off TLS verification for this account",
                url=safe_url,
            )
        if isinstance(cause, socket.gaierror):
            host = urlsplit(url).hostname
            return TransientError(f"Could not resolve the host name {host!r}: {cause.strerror}", url=safe_url)
        if isinstance(cause, OSError) and cause.errno == errno.ECONNREFUSED:
            return TransientError(f"Could not connect to {where}: connection refused", url=safe_url)
        if isinstance(cause, OSError) and cause.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
            return TransientError(f"Could not connect to {where}: no route to the host", url=safe_url)
    if isinstance(exc, ConnectFailed):
        return TransientError(f"Could not connect to {where}: {exc}", url=safe_url)
    if isinstance(exc, http.client.HTTPException):  # includes RemoteDisconnected and IncompleteRead
        return TransientError(f"{where} closed the connection without a valid answer", url=safe_url)
    return TransientError(f"The connection to {where} failed: {type(exc).__name__}", url=safe_url)
