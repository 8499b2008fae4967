"""The production CalDAV/CardDAV servers calsync's users migrate between, as private test peers.

SOGo (Mailcow), Cyrus httpd (Fastmail), DAViCal and sabre/dav 1.8 (Nextcloud, Baïkal) from the
Debian packages .ci/install-dav-servers installs; each ``start_*()`` returns a running
``RealDavServer`` with users alice and bob and their default calendar and address book.
docs/refs/real-servers.md (the fact sheet) lists what each needs and every quirk.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from calsync.testing.realservers.common import USERS, RealDavServer, ServerStartError
from calsync.testing.realservers.cyrus import start_cyrus
from calsync.testing.realservers.davical import start_davical
from calsync.testing.realservers.sabredav import start_sabredav
from calsync.testing.realservers.sogo import start_sogo

STARTERS: dict[str, Callable[[], RealDavServer]] = {
    "sogo": start_sogo,
    "cyrus": start_cyrus,
    "davical": start_davical,
    "sabredav": start_sabredav,
}

APACHE_PHP = ("/usr/sbin/apache2", "/usr/lib/apache2/modules/libphp8.2.so")
# One file of each package a server needs, to tell "not installed" from "does not start".
REQUIRED_FILES: dict[str, tuple[str, ...]] = {
    "sogo": ("/usr/sbin/sogod", "/usr/sbin/apache2", "/usr/bin/memcached", "/usr/bin/psql"),
    "cyrus": ("/usr/lib/cyrus/bin/master", "/usr/lib/cyrus/bin/httpd", "/usr/sbin/saslpasswd2"),
    "davical": ("/usr/share/davical/htdocs/caldav.php", *APACHE_PHP, "/etc/php/8.2/mods-available/pgsql.ini"),
    "sabredav": ("/usr/share/php/Sabre/autoload.php", *APACHE_PHP, "/etc/php/8.2/mods-available/pdo_sqlite.ini"),
}


def installed(name: str) -> str:
    """The first file ``name`` needs that is missing, or "" when all are there."""
    return next((path for path in REQUIRED_FILES[name] if not Path(path).exists()), "")


def require_installed(name: str) -> None:
    """Skip the test, loudly, when ``name``'s packages are missing; with CI=true fail it instead."""
    import os

    import pytest

    missing = installed(name)
    if not missing:
        return
    message = f"{name} is not installed ({missing} missing): run .ci/install-dav-servers as root (make test does)"
    if os.environ.get("CI", "").lower() in ("true", "1", "yes"):
        pytest.fail(message)
    pytest.skip(message)


__all__ = ["STARTERS", "USERS", "RealDavServer", "ServerStartError", "installed", "require_installed"]
