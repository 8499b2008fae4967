"""CardDAV (RFC 6352): address books, vCard 3 and 4 alike (stored as the server gives them).

vCard versions are negotiated (RFC 6352 section 10.4) when the caller asks for one
(``AccountConfig.vcard_version``): where an address book lists ``text/vcard`` 4.0 in
``supported-address-data``, contacts are then read as 4.0 (``address-data`` attributes in the
multiget, ``Accept`` on a GET), so a 4.0 contact stays 4.0. Cyrus stores 4.0 but serves 3.0 unless
asked; servers that list nothing (Radicale, Xandikos, DAViCal, sabre/dav 1.8) serve the bytes they
stored and are not asked for a conversion they may refuse. Asked for nothing, every server serves
its default: a 4.0 read is only worth it where the contact goes to a server that keeps 4.0 as
written (Cyrus turns a 3.0 PHOTO into a ``data:`` URI, whose comma Radicale cuts).
"""

from __future__ import annotations

from typing import ClassVar

from accounts.connectors.base import AccountConfig
from accounts.connectors.dav import DavConnector
from calsync.lib import davxml as dx
from calsync.lib.http import HttpClient, display_url

SUPPORTED_ADDRESS_DATA = dx.carddav("supported-address-data")
VCARD4 = {"content-type": "text/vcard", "version": "4.0"}


class CardDAVConnector(DavConnector):
    kind: ClassVar[str] = "carddav"
    service = "carddav"
    service_label = "CardDAV"
    collection_kind = "addressbook"
    collection_label = ("address book", "address books")
    resource_type = dx.carddav("addressbook")
    home_set = dx.carddav("addressbook-home-set")
    description_prop = dx.carddav("addressbook-description")
    content_type = "text/vcard; charset=utf-8"
    extension = ".vcf"
    multiget_report = dx.carddav("addressbook-multiget")
    data_prop = dx.carddav("address-data")

    def __init__(self, config: AccountConfig, *, http: HttpClient | None = None) -> None:
        super().__init__(config, http=http)
        self._vcard4: dict[str, bool] = {}

    def offers_vcard4(self, collection_url: str) -> bool | None:
        """Whether the address book lists vCard 4.0 in ``supported-address-data``; None: no answer."""
        response = self._dav_request(
            "PROPFIND", collection_url, dx.propfind_body([SUPPORTED_ADDRESS_DATA]), depth=0, slash_retry=False
        )
        if response.status != 207:
            return None
        entries = dx.parse_multistatus(response.content, url=display_url(response.url)).responses
        element = entries[0].props.get(SUPPORTED_ADDRESS_DATA) if entries else None
        if element is None:
            return None
        return any(
            kind.get("version") == VCARD4["version"]
            and kind.get("content-type", VCARD4["content-type"]).lower() == VCARD4["content-type"]
            for kind in element.iter(dx.carddav("address-data-type"))
        )

    def _data_wanted(self, collection_url: str) -> dict[str, str]:
        if self.config.vcard_version != VCARD4["version"]:
            return {}
        if collection_url not in self._vcard4:
            known = self.profile.vcard4_advertised
            self._vcard4[collection_url] = bool(self.offers_vcard4(collection_url) if known is None else known)
        return dict(VCARD4) if self._vcard4[collection_url] else {}

    def _mkcol_request(
        self, *, name: str, color: str, description: str, components: tuple[str, ...]
    ) -> tuple[str, bytes]:
        # RFC 6352 section 6.3.1 creates address books with extended MKCOL (RFC 5689). Address
        # books have no colour or component set in any standard namespace; both are ignored.
        props = [
            dx.node(dx.RESOURCETYPE, dx.node(dx.COLLECTION), dx.node(self.resource_type)),
            dx.node(dx.DISPLAYNAME, text=name),
        ]
        if description:
            props.append(dx.node(self.description_prop, text=description))
        body = dx.node(dx.dav("mkcol"), dx.node(dx.dav("set"), dx.node(dx.dav("prop"), *props)))
        return "MKCOL", dx.to_xml(body)
