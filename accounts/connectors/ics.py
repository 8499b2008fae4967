"""A read-only ICS feed URL as a connector: one collection, one item per UID.

A feed is one big VCALENDAR; the sync engine wants items with hrefs and etags, like a CalDAV
collection. Each UID's components (the master and its RECURRENCE-ID overrides, in whatever order
the feed lists them) become one standalone VCALENDAR carrying the VTIMEZONEs it references, under
the synthetic href ``<feed-url>#<uid>``. Its etag is the content hash that ignores DTSTAMP,
SEQUENCE and the like, so a feed that rewrites them on every download causes no writes. The split
itself is ``icsfeed.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import ClassVar
from urllib.parse import quote, urlsplit, urlunsplit

from django.conf import settings

from accounts.connectors.base import (
    AccountConfig,
    AuthError,
    CheckResult,
    ConfigError,
    ConnectorError,
    Listing,
    ProtocolError,
    PutResult,
    RemoteCollection,
    RemoteItem,
)
from accounts.connectors.icsfeed import answer_kind, looks_like_calendar, parse_feed, split_feed
from calsync.lib.http import HttpClient, HttpResponse, display_url, normalize_url
from calsync.lib.items import content_hash


def feed_url(url: str) -> tuple[str, bool]:
    """The URL to fetch, and whether it came as ``webcal://`` (then plain http is a fallback)."""
    scheme = urlsplit(url.strip()).scheme.lower()
    return normalize_url(url), scheme in ("webcal", "webcals")


class ICSConnector:
    kind: ClassVar[str] = "ics"

    def __init__(self, config: AccountConfig) -> None:
        self.config = config
        self.url, self._webcal = feed_url(config.url)
        self._items: dict[str, RemoteItem] | None = None
        self._clients: list[HttpClient] = []

    def __repr__(self) -> str:
        return f"<ICSConnector {display_url(self.url)}>"

    # --- reading ---------------------------------------------------------------------------------

    def check(self) -> CheckResult:
        try:
            items = self._download()
        except ConnectorError as exc:
            return CheckResult(ok=False, message=str(exc))
        return CheckResult(ok=True, message=f"Feed OK: {len(items)} events and tasks", collections=1)

    def list_collections(self) -> list[RemoteCollection]:
        name = (
            urlsplit(self.url).path.rstrip("/").rsplit("/", 1)[-1].removesuffix(".ics") or urlsplit(self.url).hostname
        )
        return [RemoteCollection(url=self.url, name=name or "feed", kind="feed", components=("VEVENT", "VTODO"))]

    def list_items(self, collection: RemoteCollection, *, sync_token: str = "") -> Listing:
        response = self._get(if_none_match=sync_token)
        if response.status == 304:
            # Unchanged since the last run: a delta listing that names nothing.
            return Listing(items={}, sync_token=sync_token, complete=False)
        items = self._items_of(self._calendar_body(response))
        return Listing(items={href: item.etag for href, item in items.items()}, sync_token=_etag_of(response))

    def fetch(self, collection: RemoteCollection, hrefs: Iterable[str]) -> Iterator[RemoteItem]:
        items = self._items if self._items is not None else self._download()
        for href in hrefs:
            if href in items:
                yield items[href]

    def feed_items(self) -> dict[str, RemoteItem]:
        """Every item of the feed (downloaded now unless this connector already has them)."""
        return self._items if self._items is not None else self._download()

    # --- a feed is read-only ---------------------------------------------------------------------

    def put(
        self, collection: RemoteCollection, data: bytes, *, href: str = "", etag: str = "", uid: str = ""
    ) -> PutResult:
        raise ConfigError("read-only: an ICS feed cannot be written to")

    def delete(self, href: str, *, etag: str = "") -> None:
        raise ConfigError("read-only: an ICS feed cannot be written to")

    def create_collection(
        self, *, name: str, kind: str, color: str = "", description: str = "", components: tuple[str, ...] = ()
    ) -> RemoteCollection:
        raise ConfigError("read-only: an ICS feed has no collections to create")

    def close(self) -> None:
        for client in self._clients:
            client.close()
        self._clients = []

    # --- internals -------------------------------------------------------------------------------

    def _download(self) -> dict[str, RemoteItem]:
        return self._items_of(self._calendar_body(self._get()))

    def _calendar_body(self, response: HttpResponse) -> bytes:
        if not looks_like_calendar(response.content):
            raise ProtocolError(
                f"The feed at {display_url(self.url)} is not an iCalendar file: it answered {response.status} with "
                + answer_kind(response.content, response.content_type),
                url=display_url(self.url),
            )
        return response.content

    def _items_of(self, data: bytes) -> dict[str, RemoteItem]:
        feed = parse_feed(data, where=f"The feed at {display_url(self.url)}")
        self._items = {}
        for item in split_feed(feed):
            href = f"{self.url}#{quote(item.uid, safe='@._-')}"
            self._items[href] = RemoteItem(href, content_hash(item.data), item.data, "text/calendar; charset=utf-8")
        return self._items

    def _get(self, *, if_none_match: str = "") -> HttpResponse:
        headers = {"Accept": "text/calendar, */*;q=0.5"}
        if if_none_match:
            headers["If-None-Match"] = if_none_match
        try:
            response = self._authenticated_get(self.url, headers)
        except ConnectorError as exc:
            if not (self._webcal and not self.config.username and _connection_failure(exc)):
                raise
            # webcal:// names no scheme; hosts that do not speak TLS still exist.
            parts = urlsplit(self.url)
            self.url = urlunsplit(("http", *parts[1:]))
            response = self._authenticated_get(self.url, headers)
        if response.status in (200, 304):
            return response
        if response.status in (403,):
            raise AuthError(
                f"The feed at {display_url(self.url)} answered 403: access denied", status=403, url=self.url
            )
        if response.status in (404, 410):
            raise ConfigError(
                f"The feed at {display_url(self.url)} answered {response.status}: no such feed",
                status=response.status,
                url=self.url,
            )
        raise ProtocolError(
            f"The feed at {display_url(self.url)} answered {response.status}", status=response.status, url=self.url
        )

    def _authenticated_get(self, url: str, headers: dict[str, str]) -> HttpResponse:
        if not (self.config.username or self.config.password):
            return self._request(self._client("basic"), url, headers)
        # Digest first: it sends no password until the server asks for Digest; a server that wants
        # Basic answers the bare request with 401, and then Basic goes out.
        try:
            return self._request(self._client("digest"), url, headers)
        except AuthError:
            return self._request(self._client("basic"), url, headers)

    def _client(self, scheme: str) -> HttpClient:
        client = HttpClient(
            username=self.config.username,
            password=self.config.password,
            auth_scheme=scheme,  # type: ignore[arg-type]
            verify_tls=self.config.verify_tls,
            network=self.config.network,
        )
        self._clients.append(client)
        return client

    def _request(self, client: HttpClient, url: str, headers: dict[str, str]) -> HttpResponse:
        limit = settings.CALSYNC_FEED_MAX_BYTES
        try:
            return client.request("GET", url, headers=headers, max_bytes=limit)
        except ProtocolError as exc:
            if "larger than" not in str(exc):
                raise
            raise ProtocolError(
                f"The feed at {display_url(url)} is larger than {limit} bytes (CALSYNC_FEED_MAX_BYTES); refused",
                url=display_url(url),
            ) from None


def _etag_of(response: HttpResponse) -> str:
    return response.headers.get("etag", "") or ""


def _connection_failure(exc: ConnectorError) -> bool:
    return exc.status is None and not isinstance(exc, (AuthError, ProtocolError))
