"""Items in a WebDAV collection: listing (RFC 6578 sync-collection or PROPFIND), multiget, PUT, DELETE.

``DavItems`` is the lower half of ``dav.DavConnector``; it also holds the request helpers both
halves share.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterable, Iterator
from typing import ClassVar, Self
from urllib.parse import quote, unquote, urljoin, urlsplit, urlunsplit

from accounts.connectors.base import (
    AccountConfig,
    AuthError,
    ConnectorError,
    ItemRejected,
    Listing,
    NotFound,
    PreconditionFailed,
    ProtocolError,
    PutResult,
    RemoteCollection,
    RemoteItem,
    TransientError,
)
from accounts.connectors.profile import ServerProfile
from calsync.lib import davxml as dx
from calsync.lib.http import HttpClient, HttpResponse, credentials_from_url, display_url, normalize_url
from calsync.lib.items import component_kinds

logger = logging.getLogger("calsync.connectors")

XML_CONTENT_TYPE = "application/xml; charset=utf-8"
# Big enough to amortise the round trip, small enough that one answer stays a few MB even for
# calendars with large attachments; DAVx5 and Thunderbird use similar sizes.
MULTIGET_BATCH = 100
# RFC 6578 section 3.6: a truncated answer is continued with its new token; this bounds the loop.
MAX_SYNC_PAGES = 100
LISTING_PROPS = (dx.GETETAG, dx.RESOURCETYPE)
VALID_SYNC_TOKEN = dx.dav("valid-sync-token")
DATA_CONDITION_NAMESPACES = (f"{{{dx.CALDAV}}}", f"{{{dx.CARDDAV}}}")
NOT_A_REFUSAL = frozenset({dx.caldav("no-uid-conflict"), dx.carddav("no-uid-conflict")})
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")


class _TokenRefused(Exception):
    """The server does not know the sync token any more (expired, or from another server)."""


class _SyncUnsupported(Exception):
    """The collection cannot answer sync-collection usefully; use PROPFIND instead."""


class DavItems:
    content_type: ClassVar[str]  # sent with PUT, e.g. "text/calendar; charset=utf-8"
    extension: ClassVar[str]  # ".ics"
    multiget_report: ClassVar[str]
    data_prop: ClassVar[str]

    def __init__(self, config: AccountConfig, *, http: HttpClient | None = None) -> None:
        self.config = config
        self.url = normalize_url(config.url)
        username, password = config.username, config.password
        if not username:
            username, password = credentials_from_url(config.url)
        self.username = username
        self.http = http or HttpClient(
            username=username,
            password=password,
            verify_tls=config.verify_tls,
            network=config.network,
            authorize_as=config.authorize_as,
        )
        # Read by whoever must work around a quirk (say, If-None-Match ignored); all None ("not
        # known") until the account's connection test probed the server.
        self.profile = config.profile or ServerProfile()
        self._no_sync_collection: set[str] = set()
        self._no_multiget: set[str] = set()
        # Whether creating must first look for an object at the href, because the server ignores
        # If-None-Match: * (SOGo overwrites). The account's server profile presets it; without one
        # the first create probes (``_ignores_conditional_writes``).
        self.check_before_create: bool | None = self.profile.ignores_if_none_match

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # --- listing --------------------------------------------------------------------------------

    def list_items(self, collection: RemoteCollection, *, sync_token: str = "") -> Listing:
        url = collection.url
        if self.profile.supports_sync_collection is False:  # sabre/dav 1.8: spare the refused REPORT
            self._no_sync_collection.add(url)
        if url not in self._no_sync_collection:
            try:
                return self._sync_listing(url, sync_token)
            except _TokenRefused:
                if sync_token:
                    logger.info("sync token for %s is no longer valid; listing everything", display_url(url))
                    try:
                        return self._sync_listing(url, "")
                    except (_TokenRefused, _SyncUnsupported):
                        pass
            except _SyncUnsupported:
                pass
            self._no_sync_collection.add(url)
        return self._propfind_listing(url)

    def _sync_listing(self, url: str, token: str) -> Listing:
        own = _path_key(url)
        items: dict[str, str] = {}
        deleted: set[str] = set()
        current = token
        for _page in range(MAX_SYNC_PAGES):
            body = dx.sync_collection_body(current, LISTING_PROPS)
            # RFC 6578 section 3.2: the report is defined for Depth: 0 only.
            response = self._dav_request("REPORT", url, body, depth=0)
            if response.status != 207:
                raise self._sync_refusal(response, url, token=current)
            page = dx.parse_multistatus(response.content, url=display_url(response.url))
            changed: dict[str, str] = {}
            gone: set[str] = set()
            truncated = False
            for entry in page.responses:
                if _path_key(entry.href) == own:
                    truncated = truncated or entry.status == 507
                elif entry.status in (404, 410):
                    gone.add(entry.href)
                elif entry.status == 200 and dx.COLLECTION not in dx.child_tags(entry.props.get(dx.RESOURCETYPE)):
                    changed[entry.href] = dx.text(entry.props.get(dx.GETETAG))
            # Cyrus reports a re-created item both as removed and as changed: changed wins.
            for href in gone - changed.keys():
                items.pop(href, None)
                deleted.add(href)
            for href, etag in changed.items():
                items[href] = etag
                deleted.discard(href)
            if not truncated:
                if token:
                    return Listing(items, page.sync_token, complete=False, deleted=deleted)
                return Listing(items, page.sync_token)
            if not page.sync_token or page.sync_token == current:
                # A truncated answer with no way forward would look like deletions; list fully.
                raise _SyncUnsupported
            current = page.sync_token
        raise _SyncUnsupported

    def _sync_refusal(self, response: HttpResponse, url: str, *, token: str) -> Exception:
        conditions = dx.error_conditions(response.content)
        if VALID_SYNC_TOKEN in conditions:
            return _TokenRefused()
        # Without the precondition element, servers disagree on the status for a bad token.
        if token and response.status in (400, 409, 412):
            return _TokenRefused()
        if response.status in (400, 403, 405, 409, 412, 415, 422, 500, 501):
            return _SyncUnsupported()
        return self._error(response, f"list {display_url(url)}")

    def _propfind_listing(self, url: str) -> Listing:
        own = _path_key(url)
        listing = self._propfind(url, [*LISTING_PROPS, dx.SYNC_TOKEN], depth=1)
        items: dict[str, str] = {}
        token = ""
        for entry in listing.responses:
            if _path_key(entry.href) == own:
                token = dx.text(entry.props.get(dx.SYNC_TOKEN))
            elif entry.status == 200 and dx.COLLECTION not in dx.child_tags(entry.props.get(dx.RESOURCETYPE)):
                items[entry.href] = dx.text(entry.props.get(dx.GETETAG))
        return Listing(items, token)

    # --- reading --------------------------------------------------------------------------------

    def fetch(self, collection: RemoteCollection, hrefs: Iterable[str]) -> Iterator[RemoteItem]:
        batch: list[str] = []
        for href in hrefs:
            batch.append(href)
            if len(batch) == MULTIGET_BATCH:
                yield from self._fetch_batch(collection, batch)
                batch = []
        if batch:
            yield from self._fetch_batch(collection, batch)

    def _fetch_batch(self, collection: RemoteCollection, batch: list[str]) -> Iterator[RemoteItem]:
        if collection.url not in self._no_multiget:
            body = dx.multiget_body(self.multiget_report, self.data_prop, batch, **self._data_wanted(collection.url))
            response = self._dav_request("REPORT", collection.url, body, depth=1)
            if response.status == 207:
                yield from self._items_from(response)
                return
            if response.status not in (400, 403, 405, 415, 422, 501):
                raise self._error(response, f"read items of {display_url(collection.url)}")
            self._no_multiget.add(collection.url)
        for href in batch:
            item = self._get(href, collection.url)
            if item is not None:
                yield item

    def _items_from(self, response: HttpResponse) -> Iterator[RemoteItem]:
        media_type = self.content_type.split(";", 1)[0]
        for entry in dx.parse_multistatus(response.content, url=display_url(response.url)).responses:
            data = entry.props.get(self.data_prop)
            if entry.status != 200 or data is None:
                continue  # removed since it was listed; the caller sees it missing
            yield RemoteItem(
                href=entry.href,
                etag=dx.text(entry.props.get(dx.GETETAG)),
                data=_with_crlf(data.text or "").encode("utf-8"),
                content_type=media_type,
            )

    def _data_wanted(self, collection_url: str) -> dict[str, str]:
        """The media type and version to ask for (CardDAV negotiates vCard 4.0); {} takes the default."""
        return {}

    def _get(self, href: str, base: str) -> RemoteItem | None:
        wanted = self._data_wanted(base)
        accept = {"Accept": f"{wanted['content-type']}; version={wanted['version']}"} if wanted else {}
        response = self.http.request("GET", self._absolute(href, base), headers=accept)
        if response.status in (404, 410):
            return None
        if response.status != 200:
            raise self._error(response, f"read {href}")
        media_type = response.content_type.split(";", 1)[0].strip() or self.content_type.split(";", 1)[0]
        return RemoteItem(href, response.headers.get("etag", ""), response.content, media_type)

    # --- writing --------------------------------------------------------------------------------

    def put(
        self, collection: RemoteCollection, data: bytes, *, href: str = "", etag: str = "", uid: str = ""
    ) -> PutResult:
        """Create (no ``href``) with If-None-Match: *, or update ``href`` with If-Match: ``etag``."""
        if href:
            if not etag:
                raise ValueError("updating an item needs the etag it was read with; calsync never overwrites blindly")
            url = self._absolute(href, collection.url)
            headers = {"If-Match": etag, "Content-Type": self.content_type}
        else:
            url = urljoin(_with_slash(collection.url), quote(self._new_name(uid)))
            href = urlsplit(url).path
            headers = {"If-None-Match": "*", "Content-Type": self.content_type}
            if self._must_check_before_create(collection) and self._exists(url):
                raise PreconditionFailed(f"{href} already exists (found just before creating it)", status=412, url=href)
        response = self.http.request("PUT", url, headers=headers, content=data)
        status = response.status
        if status in (200, 201, 204):
            location = response.headers.get("location", "")
            if status == 201 and location:
                href = urlsplit(urljoin(url, location)).path
                url = self._absolute(href, url)
            new_etag = response.headers.get("etag", "")
            # RFC 4791 section 5.3.4: a server that altered the data sends no (or a weak) ETag.
            if not new_etag or new_etag.startswith("W/"):
                new_etag = self._read_etag(url) or new_etag
            return PutResult(href, new_etag)
        if status == 412 and not self._is_data_refusal(response):
            if "If-Match" in headers:
                raise PreconditionFailed(f"{href} changed on the server since it was read", status=412, url=href)
            raise PreconditionFailed(
                f"{href} already exists (or the server already holds an item with this UID)", status=412, url=href
            )
        if status in (404, 410) and "If-Match" not in headers and self._collection_exists(collection.url):
            raise self._refused_with_not_found(response, href, data)
        if status in (404, 410):
            what = href if "If-Match" in headers else display_url(collection.url)
            raise NotFound(f"{what} does not exist on the server any more", status=status, url=href)
        raise self._rejected(response, href)

    def _refused_with_not_found(self, response: HttpResponse, href: str, data: bytes) -> ItemRejected:
        """SOGo answers 404 to a VJOURNAL PUT into a calendar that exists (it stores no journals):
        the collection is there (a PROPFIND Depth 0 just said so), so it is this object that is
        refused, not the collection that is gone."""
        kinds = "/".join(sorted(component_kinds(data))) or ("vCard" if self.extension == ".vcf" else "iCalendar")
        place = "address book" if self.extension == ".vcf" else "calendar"
        return ItemRejected(
            f"The server refused this {kinds} object (answered {response.status} although the {place} exists);"
            f" it stores no {kinds} objects in this {place}",
            status=response.status,
            url=href,
        )

    def delete(self, href: str, *, etag: str = "") -> None:
        headers = {"If-Match": etag} if etag else {}
        response = self.http.request("DELETE", self._absolute(href, self._item_base()), headers=headers)
        if response.status in (200, 202, 204, 404, 410):
            return  # 404/410: already gone, which is what was asked
        if response.status == 412:
            raise PreconditionFailed(f"{href} changed on the server since it was read", status=412, url=href)
        raise self._rejected(response, href)

    def _must_check_before_create(self, collection: RemoteCollection) -> bool:
        if self.check_before_create is None:
            self.check_before_create = self._ignores_conditional_writes(collection)
        return self.check_before_create

    def _ignores_conditional_writes(self, collection: RemoteCollection) -> bool:
        """One PUT with If-Match: * to a fresh href: RFC 9110 section 13.1.1 says 412, and every
        server that honours it honours If-None-Match: * as well. A server that creates the object
        instead (SOGo) would also overwrite on create; the probe object is deleted again."""
        name = f"calsync-probe-{uuid.uuid4().hex}"
        url = urljoin(_with_slash(collection.url), name + self.extension)
        headers = {"If-Match": "*", "Content-Type": self.content_type}
        response = self.http.request("PUT", url, headers=headers, content=self._probe_body(name))
        if response.status not in (200, 201, 204):
            return False
        self.http.request("DELETE", url)
        logger.warning(
            "%s ignores If-Match/If-None-Match: *; calsync looks for an object before creating one there",
            display_url(collection.url),
        )
        return True

    def _probe_body(self, uid: str) -> bytes:
        if self.extension == ".vcf":
            return f"BEGIN:VCARD\r\nVERSION:3.0\r\nUID:{uid}\r\nFN:calsync probe\r\nN:;;;;\r\nEND:VCARD\r\n".encode()
        return (
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calsync//probe//EN\r\nBEGIN:VEVENT\r\n"
            f"UID:{uid}\r\nDTSTAMP:20000101T000000Z\r\nDTSTART:20000101T000000Z\r\nDURATION:PT1H\r\n"
            "SUMMARY:calsync probe\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
        ).encode()

    def _exists(self, url: str) -> bool:
        response = self._dav_request("PROPFIND", url, dx.propfind_body([dx.GETETAG]), depth=0, slash_retry=False)
        if response.status != 207:
            return False
        entries = dx.parse_multistatus(response.content, url=display_url(response.url)).responses
        return any(entry.status == 200 for entry in entries)

    def _collection_exists(self, url: str) -> bool:
        body = dx.propfind_body([dx.RESOURCETYPE])
        return self._dav_request("PROPFIND", url, body, depth=0).status == 207

    def _is_data_refusal(self, response: HttpResponse) -> bool:
        # Xandikos answers invalid data with 412 and CALDAV:valid-calendar-data (RFC 4791 section
        # 5.3.2.1 says 403); only an etag mismatch or a UID clash is a real precondition failure.
        # Only CalDAV/CardDAV conditions refuse data: DAViCal names DAV:if-match in its 412 and
        # sabre/dav adds its own elements (s:exception, s:message) to every error body.
        conditions = {
            name for name in dx.error_conditions(response.content) if name.startswith(DATA_CONDITION_NAMESPACES)
        }
        return bool(conditions - NOT_A_REFUSAL)

    def _new_name(self, uid: str) -> str:
        # Derived from the UID, so a create retried after a crash meets 412 on the same href
        # instead of making a duplicate; a UID unsafe in a URL is hashed, never half-escaped.
        if uid and _SAFE_NAME.fullmatch(uid):
            stem = uid
        elif uid:
            stem = str(uuid.uuid5(uuid.NAMESPACE_URL, uid))
        else:
            stem = str(uuid.uuid4())
        return stem + self.extension

    def _read_etag(self, url: str) -> str:
        response = self._dav_request("PROPFIND", url, dx.propfind_body([dx.GETETAG]), depth=0, slash_retry=False)
        if response.status != 207:
            return ""
        entries = dx.parse_multistatus(response.content, url=display_url(response.url)).responses
        return dx.text(entries[0].props.get(dx.GETETAG)) if entries else ""

    def _rejected(self, response: HttpResponse, href: str) -> ConnectorError:
        if response.status >= 500 and response.status not in (500, 501, 507):
            return self._error(response, f"write {href}")
        reason = dx.error_reason(response.content, response.content_type)
        detail = f": {reason}" if reason else ""
        return ItemRejected(
            f"The server refused {href} ({response.status}){detail}",
            status=response.status,
            url=href,
            conditions=frozenset(dx.error_conditions(response.content)),
        )

    # --- requests shared with discovery ---------------------------------------------------------

    def _dav_request(self, method: str, url: str, body: bytes, *, depth: int, slash_retry: bool = True) -> HttpResponse:
        """A DAV request with the trailing-slash retry for collection URLs.

        Nextcloud, Feishu and Fastmail answer 404 (or a redirect to a web page) for a collection
        URL without its trailing slash, and pasted URLs often lack it.
        """
        headers = {"Depth": str(depth), "Content-Type": XML_CONTENT_TYPE}
        response = self.http.request(method, url, headers=headers, content=body)
        parts = urlsplit(url)
        if slash_retry and response.status not in (207, 401, 403) and not parts.path.endswith("/"):
            slashed = urlunsplit((parts.scheme, parts.netloc, parts.path + "/", parts.query, ""))
            retried = self.http.request(method, slashed, headers=headers, content=body)
            if retried.status == 207:
                return retried
        return response

    def _propfind(self, url: str, props: list[str], *, depth: int) -> dx.Multistatus:
        response = self._dav_request("PROPFIND", url, dx.propfind_body(props), depth=depth)
        if response.status != 207:
            raise self._error(response, f"list {display_url(url)}")
        return dx.parse_multistatus(response.content, url=display_url(response.url))

    def _absolute(self, href: str, base: str) -> str:
        return urljoin(base, href)

    def _item_base(self) -> str:
        """What an href without a host is relative to when no collection URL is at hand."""
        return self.url

    def _error(self, response: HttpResponse, action: str) -> ConnectorError:
        """The typed error for a status the caller did not expect."""
        status, where = response.status, display_url(response.url)
        reason = dx.error_reason(response.content, response.content_type)
        message = f"Could not {action}: the server answered {status}" + (f" ({reason})" if reason else "")
        if status == 403:
            return AuthError(message, status=status, url=where)
        if status in (404, 410):
            return NotFound(message, status=status, url=where)
        if status >= 500:
            return TransientError(message, status=status, url=where)
        return ProtocolError(message, status=status, url=where)


def _path_key(href: str) -> str:
    """Compare hrefs by decoded path: servers mix absolute URLs and paths, %40 and @."""
    return unquote(urlsplit(href).path).rstrip("/")


def _with_slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"


def _with_crlf(text: str) -> str:
    # XML parsing turns CRLF into LF (XML 1.0 section 2.11); iCalendar and vCard lines end in
    # CRLF (RFC 5545 section 3.1, RFC 6350 section 3.2), so the server's bytes are restored.
    return text.replace("\r\n", "\n").replace("\n", "\r\n").lstrip()
