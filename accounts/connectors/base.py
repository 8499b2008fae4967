"""The connector contract: neutral dataclasses, the Protocol, and typed errors.

Connectors never see ORM models: they are built from an ``AccountConfig`` and speak in
``RemoteCollection`` / ``RemoteItem`` values, so the reconciliation engine and the tests can use
them without a database.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import ClassVar, Protocol, runtime_checkable

from accounts.connectors.profile import ServerProfile
from calsync.lib.addresses import NetworkPolicy

# The connector contract's errors; the HTTP seam raises them too, so they live on the ground floor.
from calsync.lib.errors import (  # noqa: F401
    AuthError,
    ConfigError,
    ConnectorError,
    ItemRejected,
    NotFound,
    PreconditionFailed,
    ProtocolError,
    TransientError,
)

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
    # The user an admin login acts for (Cyrus proxy authorisation, the Authorize-As header).
    authorize_as: str = ""
    # What this account may connect to, from who owns it (Account.connector_config()). None is the
    # operator's own policy, for configs built by hand in tests, benches and the CLI.
    network: NetworkPolicy | None = field(default=None, compare=False)
    # What "Test connection" saw the server do (probe.py); None when it was never probed.
    profile: ServerProfile | None = field(default=None, compare=False)
    # The vCard version to read contacts in where the server offers it ("4.0"); "" takes the
    # server's default. The caller decides, from where the contacts go (jobs/engines/dav.py).
    vcard_version: str = field(default="", compare=False)


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


# --- the protocols -----------------------------------------------------------------------------
# Two honest kinds of remote system: stores of items (calendar objects, vCards) in collections,
# and time-tracking APIs (time entries behind a JSON API). A connector is one or the other; none
# pretends to be both. Every method raises ``ConnectorError`` kinds.


@runtime_checkable
class ItemStore(Protocol):
    """Read and write items in the collections of one remote store: CalDAV, CardDAV, an ICS feed
    (read-only: its writes raise ``ConfigError``)."""

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


@runtime_checkable
class TimeTrackingApi(Protocol):
    """A time-tracking system's JSON API (Zammad's time accountings, Kimai's timesheets).

    What they share is the connection: a token, a diagnosis, a session to close. The entries each
    system keeps differ (Zammad's are the source, Kimai's the destination), so their calls are
    each connector's own, used by the time-sheet engine (``jobs/timesheets/``).
    """

    kind: ClassVar[str]
    service: ClassVar[str]  # the system's name, as messages say it

    def check(self) -> CheckResult: ...

    def close(self) -> None: ...
