"""The connector registry: one explicit line per remote kind.

Adding a system is one module in this package, one line here and the shared contract tests
passing for it. ``Account.kind`` takes its choices from this dict.
"""

from __future__ import annotations

from django.utils.module_loading import import_string

from accounts.connectors.base import AccountConfig, Connector, ConnectorError

# kind -> (label, dotted path of the class). Labels live here so that building a form's choices
# does not import every connector.
CONNECTORS: dict[str, tuple[str, str]] = {
    "caldav": ("CalDAV (calendars and task lists)", "accounts.connectors.caldav.CalDAVConnector"),
    "carddav": ("CardDAV (address books)", "accounts.connectors.carddav.CardDAVConnector"),
    "zammad": ("Zammad (time accounting)", "accounts.connectors.zammad.ZammadConnector"),
    "kimai": ("Kimai (timesheets)", "accounts.connectors.kimai.KimaiConnector"),
    "ics": ("ICS feed URL (read-only)", "accounts.connectors.ics.ICSConnector"),
}


def connector_class(kind: str) -> type[Connector]:
    try:
        _label, path = CONNECTORS[kind]
    except KeyError:
        raise ConnectorError(f"Unknown account kind {kind!r}; known kinds: {', '.join(CONNECTORS)}") from None
    return import_string(path)


def kind_choices() -> list[tuple[str, str]]:
    return [(kind, label) for kind, (label, _path) in CONNECTORS.items()]


def connector_for(config: AccountConfig) -> Connector:
    return connector_class(config.kind)(config)
