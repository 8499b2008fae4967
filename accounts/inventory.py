"""What a CalDAV/CardDAV account holds: its calendars and address books, each with its item count.

A sync job copies both calendars and address books, whichever of the two kinds the account is
(one server almost always serves both), so discovery and the connection test show both: a user
sees their contacts before migrating, and finds the URLs to map in ``collection_map``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from accounts.connectors.base import AccountConfig, ConnectorError, ItemStore, RemoteCollection

logger = logging.getLogger(__name__)

DAV_KINDS = ("caldav", "carddav")
# collection kind → (one, many, one item, many items)
LABELS = {
    "calendar": ("calendar", "calendars", "item", "items"),
    "addressbook": ("address book", "address books", "contact", "contacts"),
}


@dataclass(frozen=True, slots=True)
class Found:
    collection: RemoteCollection
    items: int | None  # None when the server would not list the collection's items


def dav_configs(config: AccountConfig) -> list[AccountConfig]:
    """The account's own kind first, then the other DAV kind on the same server and credentials."""
    if config.kind not in DAV_KINDS:
        return [config]
    return [config, *(replace(config, kind=kind) for kind in DAV_KINDS if kind != config.kind)]


def inventory(config: AccountConfig, connector_for: Callable[[AccountConfig], ItemStore]) -> list[Found]:
    """Every collection the account reaches, counted. The account's own kind must answer (its
    ConnectorError propagates); the other kind is optional, as a server may serve only one."""
    found: dict[str, Found] = {}
    for number, kind_config in enumerate(dav_configs(config)):
        connector = connector_for(kind_config)
        try:
            collections = _collections(connector, required=number == 0, kind=kind_config.kind)
            for collection in collections:
                if collection.url not in found:
                    found[collection.url] = Found(collection, _count(connector, collection))
        finally:
            connector.close()
    return list(found.values())


def _collections(connector: ItemStore, *, required: bool, kind: str) -> list[RemoteCollection]:
    try:
        return connector.list_collections()
    except ConnectorError as exc:
        if required:
            raise
        logger.info("no %s collections on this server: %s", kind, type(exc).__name__)
        return []


def _count(connector: ItemStore, collection: RemoteCollection) -> int | None:
    try:
        return len(connector.list_items(collection).items)
    except ConnectorError as exc:
        logger.info("could not count the items of a collection: %s", type(exc).__name__)
        return None


def describe(found: Iterable[Found]) -> str:
    """``2 calendars (14 items), 1 address book (4 contacts)``."""
    found = list(found)
    parts = []
    for kind, (one, many, item, items) in LABELS.items():
        of_kind = [f for f in found if f.collection.kind == kind]
        counted = [f.items for f in of_kind if f.items is not None]
        total = sum(counted)
        part = f"{len(of_kind)} {one if len(of_kind) == 1 else many}"
        if of_kind:
            part += f" ({total} {item if total == 1 else items}{'' if len(counted) == len(of_kind) else ' or more'})"
        parts.append(part)
    return ", ".join(parts)
