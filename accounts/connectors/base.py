"""The connector contract: neutral dataclasses, the Protocol, and typed errors.

Connectors never see ORM models: they are built from an ``AccountConfig`` and speak in
``RemoteCollection`` / ``RemoteItem`` values, so the reconciliation engine and the tests can use
them without a database.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import ClassVar, Protocol, runtime_checkable

from accounts.connectors.addresses import NetworkPolicy
from accounts.connectors.profile import ServerProfile

# --- errors ------------------------------------------------------------------------------------


class ConnectorError(Exception):
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
    """The server refused this one item (403/409/415/507/500 on PUT); the run goes on."""


# --- neutral values ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AccountConfig:
    """What a connector needs to know about an account; built from the ORM row by the caller."""

    kind: str
    url: str
    username: str = ""
    password: str = field(default="", repr=False)
    principal_url: str = ""
    verify_tls: bool = True
    # What this account may connect to, from who owns it (Account.connector_config()). None is the
    # operator's own policy, for configs built by hand in tests, benches and the CLI.
    network: NetworkPolicy | None = field(default=None, compare=False)
    # What "Test connection" saw the server do (probe.py); None when it was never probed.
    profile: ServerProfile | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class RemoteCollection:
    url: str
    name: str
    kind: str  # "calendar" | "addressbook" | "feed" | ...
    color: str = ""
    description: str = ""
    components: tuple[str, ...] = ()  # supported-calendar-component-set, e.g. ("VEVENT", "VTODO")
    ctag: str = ""
    sync_token: str = ""


@dataclass(frozen=True, slots=True)
class RemoteItem:
    href: str  # absolute URL path exactly as the server gave it; never rebuilt from a UID
    etag: str
    data: bytes
    content_type: str = ""


@dataclass(slots=True)
class Listing:
    """The result of ``list_items``.

    A full listing (``complete=True``) maps every href of the collection to its etag. A delta
    listing (sync-collection with a valid token) holds only changed hrefs in ``items`` and removed
    ones in ``deleted``.
    """

    items: dict[str, str]
    sync_token: str = ""
    complete: bool = True
    deleted: set[str] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class CheckResult:
    ok: bool
    message: str
    principal_url: str = ""
    collections: int = 0


@dataclass(frozen=True, slots=True)
class PutResult:
    href: str
    etag: str


# --- the protocol ------------------------------------------------------------------------------


@runtime_checkable
class Connector(Protocol):
    """Read and write items on one remote system. Every method raises ``ConnectorError`` kinds."""

    kind: ClassVar[str]

    def check(self) -> CheckResult: ...

    def list_collections(self) -> list[RemoteCollection]: ...

    def list_items(self, collection: RemoteCollection, *, sync_token: str = "") -> Listing: ...

    def fetch(self, collection: RemoteCollection, hrefs: Iterable[str]) -> Iterator[RemoteItem]: ...

    def put(
        self, collection: RemoteCollection, data: bytes, *, href: str = "", etag: str = "", uid: str = ""
    ) -> PutResult: ...

    def delete(self, href: str, *, etag: str = "") -> None: ...

    def create_collection(
        self, *, name: str, kind: str, color: str = "", description: str = "", components: tuple[str, ...] = ()
    ) -> RemoteCollection: ...

    def close(self) -> None: ...
