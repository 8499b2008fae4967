"""The production CalDAV/CardDAV servers calsync's users migrate between, as private test peers.

SOGo (Mailcow), Cyrus httpd (Fastmail), DAViCal and sabre/dav 1.8 (Nextcloud, Baïkal) from the
Debian packages .ci/install-dav-servers installs; each ``start_*()`` returns a running
``RealDavServer`` with users alice and bob and their default calendar and address book.
/work/shared/refs/real-servers.md (the fact sheet) lists what each needs and every quirk.
"""

from __future__ import annotations

from collections.abc import Callable

from accounts.testing.realservers.common import USERS, RealDavServer, ServerStartError
from accounts.testing.realservers.cyrus import start_cyrus
from accounts.testing.realservers.davical import start_davical
from accounts.testing.realservers.sabredav import start_sabredav
from accounts.testing.realservers.sogo import start_sogo

STARTERS: dict[str, Callable[[], RealDavServer]] = {
    "sogo": start_sogo,
    "cyrus": start_cyrus,
    "davical": start_davical,
    "sabredav": start_sabredav,
}

__all__ = ["STARTERS", "USERS", "RealDavServer", "ServerStartError"]
