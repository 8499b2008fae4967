"""Typed errors, independent of where they happened.

Two bases tell a caller what a failure means, so the one API exception handler
(``calsync.errors.api_exception_handler``) answers them without knowing every app: a
``StateConflict`` is a 409 (the request contradicts the current state: a run already active, an
account still in use), an ``UpstreamError`` a 502 (a remote server could not be asked).

The errors of every remote system calsync talks to are raised by the HTTP seam
(calsync/lib/http.py) and the connectors (accounts/connectors/), and read by the runner:
``permanent`` errors flag the account and are not retried, a ``TransientError`` is retried with
backoff, a ``PreconditionFailed`` is re-read and re-planned.
"""

from __future__ import annotations

from typing import ClassVar


class StateConflict(Exception):
    """The request contradicts the current state of what it names; the message says why."""


class UpstreamError(Exception):
    """A remote system could not be asked, or refused; the message says which and why."""


class ConnectorError(UpstreamError):
    """Base class. ``permanent`` errors flag the account and are not retried."""

    permanent: ClassVar[bool] = False

    def __init__(self, message: str, *, status: int | None = None, url: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.url = url

    def __str__(self) -> str:
        return self.message


class AuthError(ConnectorError):
    """The server refused the credentials (401) or the account lacks access (403 on discovery)."""

    permanent = True


class ConfigError(ConnectorError):
    """The account cannot work as configured: bad URL, no CalDAV there, blocked address."""

    permanent = True


class ProtocolError(ConnectorError):
    """The server answered something unusable: non-XML, an XML bomb, a body over the size limit."""

    permanent = True


class TransientError(ConnectorError):
    """Timeouts, connection failures, 429 and 5xx: retried with backoff and jitter."""

    def __init__(
        self, message: str, *, status: int | None = None, url: str | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message, status=status, url=url)
        # Seconds the server asked for (Retry-After) when it was more than the HTTP seam waits.
        self.retry_after = retry_after


class NotFound(ConnectorError):
    """The collection or item is gone (404/410)."""


class PreconditionFailed(ConnectorError):
    """412: the item changed (or exists) on the server. Re-read and re-plan; never overwrite."""


class ItemRejected(ConnectorError):
    """The server refused this one item (403/409/415/507/500 on PUT); the run goes on.

    ``conditions`` are the precondition elements of the server's ``DAV:error`` body (Clark names,
    e.g. CalDAV's ``valid-calendar-data``, RFC 4791 section 5.3.2.1): they say why.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        url: str | None = None,
        conditions: frozenset[str] = frozenset(),
    ) -> None:
        super().__init__(message, status=status, url=url)
        self.conditions = conditions
