"""CardDAV (RFC 6352): address books, vCard 3 and 4 alike (stored as the server gives them)."""

from __future__ import annotations

from typing import ClassVar

from accounts.connectors.dav import DavConnector
from calsync.lib import davxml as dx


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
