"""The connector registry: one explicit line per remote kind.

Adding a system is one module in this package, one line here and the shared contract tests
passing for it. ``Account.kind`` takes its choices from this dict.
"""

from __future__ import annotations

from typing import Any

from django.utils.module_loading import import_string

from accounts.connectors.base import AccountConfig, ConfigError, ConnectorError, ItemStore

# kind -> (label, dotted path of the class). Labels live here so that building a form's choices
# does not import every connector. Each class is an ``ItemStore`` or a ``TimeTrackingApi``
# (accounts/connectors/base.py); accounts/tests/test_connector_registry.py holds every one to its
# protocol's contract.
CONNECTORS: dict[str, tuple[str, str]] = {
    "caldav": ("CalDAV (calendars and task lists)", "accounts.connectors.caldav.CalDAVConnector"),
    "carddav": ("CardDAV (address books)", "accounts.connectors.carddav.CardDAVConnector"),
    "zammad": ("Zammad (time accounting)", "accounts.connectors.zammad.ZammadConnector"),
    "kimai": ("Kimai (timesheets)", "accounts.connectors.kimai.KimaiConnector"),
    "ics": ("ICS feed URL (read-only)", "accounts.connectors.ics.ICSConnector"),
}


def connector_class(kind: str) -> type[Any]:
    try:
        _label, path = CONNECTORS[kind]
    except KeyError:
        raise ConnectorError(f"Unknown account kind {kind!r}; known kinds: {', '.join(CONNECTORS)}") from None
    return import_string(path)


def kind_choices() -> list[tuple[str, str]]:
    return [(kind, label) for kind, (label, _path) in CONNECTORS.items()]


def connector_for(config: AccountConfig) -> Any:
    """The connector of the account's kind: an ``ItemStore`` or a ``TimeTrackingApi``."""
    return connector_class(config.kind)(config)


def item_store_for(config: AccountConfig) -> ItemStore:
    """The account's item store; a ``ConfigError`` for a kind that keeps no items (time tracking)."""
    if not is_item_store(config.kind):
        raise ConfigError(f"A {config.kind} account has no calendars or address books")
    connector: ItemStore = connector_for(config)
    return connector


# A protocol with data members (``kind``) refuses ``issubclass``; a class is judged by its methods.
ITEM_STORE_METHODS = ("check", "close", "list_collections", "list_items", "fetch", "put", "delete", "create_collection")


def is_item_store(kind: str) -> bool:
    cls = connector_class(kind)
    return all(callable(getattr(cls, name, None)) for name in ITEM_STORE_METHODS)


def is_time_tracking(kind: str) -> bool:
    cls = connector_class(kind)
    return bool(getattr(cls, "service", "")) and callable(getattr(cls, "check", None)) and not is_item_store(kind)
