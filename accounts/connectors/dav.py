"""The WebDAV connector shared by CalDAV and CardDAV: discovery, listing, multiget, writes.

The subclasses only name their namespace, resource type, report and content type; everything
that is the same for calendars and address books (RFC 4918, 5689, 6578, 6764) lives here. Item
listings, multiget and writes are in ``davitems.DavItems``, which this class extends.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import ClassVar
from urllib.parse import quote, urljoin, urlsplit, urlunsplit
from xml.etree.ElementTree import Element

from accounts.connectors.base import (
    AccountConfig,
    AuthError,
    CheckResult,
    ConfigError,
    ConnectorError,
    ProtocolError,
    RemoteCollection,
)
from accounts.connectors.davitems import XML_CONTENT_TYPE, DavItems
from calsync.lib import davxml as dx
from calsync.lib.http import HttpClient, HttpResponse, display_url, normalize_url

_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass(slots=True)
class Discovery:
    """Where the account's collections live, found once per connector."""

    principal_url: str = ""
    principal_name: str = ""
    homes: list[str] = field(default_factory=list)
    collection: RemoteCollection | None = None  # set when the account URL is itself a collection


class DavConnector(DavItems):
    kind: ClassVar[str]
    service: ClassVar[str]  # "caldav" | "carddav": the .well-known name (RFC 6764 section 5)
    service_label: ClassVar[str]  # "CalDAV"
    collection_kind: ClassVar[str]  # RemoteCollection.kind
    collection_label: ClassVar[tuple[str, str]]  # ("calendar", "calendars")
    resource_type: ClassVar[str]  # the resourcetype child that marks our collections
    home_set: ClassVar[str]  # calendar-home-set / addressbook-home-set
    description_prop: ClassVar[str]
    extra_collection_props: ClassVar[tuple[str, ...]] = ()

    def __init__(self, config: AccountConfig, *, http: HttpClient | None = None) -> None:
        super().__init__(config, http=http)
        self._discovery: Discovery | None = None

    # --- the contract ---------------------------------------------------------------------------

    def check(self) -> CheckResult:
        try:
            collections = self.list_collections()
        except ConnectorError as exc:
            return CheckResult(ok=False, message=str(exc))
        found = self._discover()
        singular, plural = self.collection_label
        count = f"{len(collections)} {singular if len(collections) == 1 else plural}"
        who = found.principal_name or self.username or "anonymous"
        if found.collection is not None:
            return CheckResult(True, f"Connected as {who}: the URL is one {singular}", found.principal_url, 1)
        return CheckResult(True, f"Connected as {who}: {count}", found.principal_url, len(collections))

    def list_collections(self) -> list[RemoteCollection]:
        found = self._discover()
        if found.collection is not None:
            return [found.collection]
        collections: dict[str, RemoteCollection] = {}
        for home in found.homes:
            listing = self._propfind(home, self._collection_props(), depth=1)
            for response in listing.responses:
                collection = self._collection_from(response, base=home)
                if collection is not None:
                    collections.setdefault(collection.url, collection)
        return list(collections.values())

    def create_collection(
        self, *, name: str, kind: str, color: str = "", description: str = "", components: tuple[str, ...] = ()
    ) -> RemoteCollection:
        if kind != self.collection_kind:
            raise ConfigError(f"A {self.service_label} account holds {self.collection_label[1]}, not {kind!r}")
        home = self._home_for_new_collections()
        slug = _SLUG.sub("-", name.lower()).strip("-")[:40] or uuid.uuid4().hex
        for segment in (slug, f"{slug}-{uuid.uuid4().hex[:8]}"):
            url = urljoin(home, quote(segment) + "/")
            method, body = self._mkcol_request(name=name, color=color, description=description, components=components)
            response = self.http.request(method, url, headers={"Content-Type": XML_CONTENT_TYPE}, content=body)
            if response.status in (200, 201, 207):
                listing = self._propfind(url, self._collection_props(), depth=0)
                for item in listing.responses:
                    collection = self._collection_from(item, base=url)
                    if collection is not None:
                        return collection
                singular = self.collection_label[0]
                raise ProtocolError(f"{display_url(url)} was created but does not read back as a {singular}")
            # RFC 4791 section 5.3.1: 405 means something already exists at that URL; try another.
            if response.status != 405:
                break
        raise self._error(response, f"create the {self.collection_label[0]} {name!r}")

    # --- discovery ------------------------------------------------------------------------------

    def _discover(self) -> Discovery:
        if self._discovery is None:
            self._discovery = self._find_principal()
        return self._discovery

    def _find_principal(self) -> Discovery:
        if self.config.principal_url:
            return self._from_principal(normalize_url(self.config.principal_url))
        parts = urlsplit(self.url)
        well_known = urlunsplit((parts.scheme, parts.netloc, f"/.well-known/{self.service}", "", ""))
        # RFC 6764 section 6: a bare host is found through .well-known; a longer URL is more
        # likely the DAV root, a principal or a pasted collection, so it is asked first.
        candidates = [well_known, self.url] if parts.path in ("", "/") else [self.url, well_known]
        answers: list[str] = []
        for candidate in candidates:
            response = self._dav_request("PROPFIND", candidate, dx.propfind_body(self._discovery_props()), depth=0)
            path = urlsplit(candidate).path or "/"
            if response.status == 403:
                raise AuthError(
                    f"The server answered 403: {self.username or 'this account'} may not read {display_url(candidate)}",
                    status=403,
                    url=display_url(candidate),
                )
            if response.status != 207:
                kind = response.content_type.split(";", 1)[0].strip()[:60]
                answers.append(f"{response.status}{f' ({kind})' if kind else ''} for PROPFIND on {path}")
                continue
            found = self._discovery_from(response)
            if found is not None:
                return found
            answers.append(f"no {self.service_label} principal for PROPFIND on {path}")
        raise ConfigError(
            f"No {self.service_label} service found at {display_url(self.url)}: the server answered "
            + " and ".join(answers),
            url=display_url(self.url),
        )

    def _discovery_from(self, response: HttpResponse) -> Discovery | None:
        listing = dx.parse_multistatus(response.content, url=display_url(response.url))
        if not listing.responses:
            return None
        first = listing.responses[0]
        principal = dx.hrefs(first.props.get(dx.CURRENT_USER_PRINCIPAL))
        principal_url = self._absolute(principal[0], response.url) if principal else ""
        collection = self._collection_from(first, base=response.url)
        if collection is not None:
            return Discovery(principal_url=principal_url, collection=collection)
        homes = dx.hrefs(first.props.get(self.home_set))
        if homes:
            here = self._absolute(first.href, response.url)
            name = dx.text(first.props.get(dx.DISPLAYNAME))
            return Discovery(here, name, [self._absolute(home, response.url) for home in homes])
        if principal_url:
            return self._from_principal(principal_url)
        return None

    def _from_principal(self, principal_url: str) -> Discovery:
        response = self._dav_request("PROPFIND", principal_url, dx.propfind_body(self._discovery_props()), depth=0)
        if response.status != 207:
            raise self._error(response, f"read the principal {display_url(principal_url)}")
        listing = dx.parse_multistatus(response.content, url=display_url(response.url))
        if not listing.responses:
            raise ProtocolError(f"The principal {display_url(principal_url)} answered with an empty multistatus")
        first = listing.responses[0]
        here = self._absolute(first.href, response.url)
        collection = self._collection_from(first, base=response.url)
        if collection is not None:  # a collection URL was configured as the principal
            return Discovery(collection=collection)
        name = dx.text(first.props.get(dx.DISPLAYNAME))
        # Some servers keep collections right under the principal and report no home set.
        homes = [self._absolute(home, response.url) for home in dx.hrefs(first.props.get(self.home_set))] or [here]
        return Discovery(here, name, homes)

    def _item_base(self) -> str:
        # Hrefs are paths on the host that discovery ended on, which a .well-known redirect may
        # have moved away from the account URL's host.
        found = self._discover()
        return found.principal_url or (found.collection.url if found.collection else self.url)

    def _home_for_new_collections(self) -> str:
        found = self._discover()
        if found.homes:
            return found.homes[0]
        if found.principal_url:
            homes = self._from_principal(found.principal_url).homes
            if homes:
                return homes[0]
        if found.collection is not None:  # one pasted collection: its parent is the home
            return urljoin(found.collection.url, "..")
        raise ConfigError(f"No place to create {self.collection_label[1]} was found on {display_url(self.url)}")

    # --- collections ----------------------------------------------------------------------------

    def _discovery_props(self) -> list[str]:
        return [dx.CURRENT_USER_PRINCIPAL, self.home_set, *self._collection_props()]

    def _collection_props(self) -> list[str]:
        # No getctag or sync-token here: Radicale computes both by reading every item of every
        # collection in the listing, which made discovering a home with a few large calendars
        # cost seconds. The sync-collection REPORT returns the token when it is needed.
        return [dx.RESOURCETYPE, dx.DISPLAYNAME, self.description_prop, *self.extra_collection_props]

    def _collection_from(self, response: dx.DavResponse, *, base: str) -> RemoteCollection | None:
        if self.resource_type not in dx.child_tags(response.props.get(dx.RESOURCETYPE)):
            return None
        url = self._absolute(response.href, base)
        if not url.endswith("/"):
            url += "/"
        props = response.props
        return RemoteCollection(
            url=url,
            name=dx.text(props.get(dx.DISPLAYNAME)) or _last_segment(url),
            kind=self.collection_kind,
            color=dx.text(props.get(dx.CALENDAR_COLOR)),
            description=dx.text(props.get(self.description_prop)),
            components=self._components(props),
            ctag=dx.text(props.get(dx.GETCTAG)),
            sync_token=dx.text(props.get(dx.SYNC_TOKEN)),
        )

    def _components(self, props: dict[str, Element]) -> tuple[str, ...]:
        return ()

    def _mkcol_request(
        self, *, name: str, color: str, description: str, components: tuple[str, ...]
    ) -> tuple[str, bytes]:
        raise NotImplementedError


def _last_segment(url: str) -> str:
    return urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]
