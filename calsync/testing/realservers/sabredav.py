"""sabre/dav 1.8 (Debian's ``php-sabre-dav``, the library under Nextcloud and Baïkal) behind a private Apache.

``server.php`` follows upstream's groupware example: PDO backends on SQLite (schema from the
package's example SQL), base URI ``/``, the Auth, Browser, CalDAV, CardDAV and DAVACL plugins, and
a Basic auth backend instead of the example's Digest one.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

from calsync.testing.realservers.common import (
    USERS,
    Instance,
    RealDavServer,
    chown,
    free_port,
    start_apache,
    wait_for_dav,
)

SQL = "/usr/share/doc/php-sabre-dav/examples/sql/sqlite.{}.sql"

SERVER_PHP = r"""<?php
// PHP 8.2 deprecations and notices from the 2013 code would otherwise become 500s or noise.
error_reporting(E_ALL & ~E_DEPRECATED & ~E_NOTICE & ~E_WARNING & ~E_STRICT);
date_default_timezone_set('UTC');
require_once 'Sabre/autoload.php';

class CalsyncBasicAuth extends \Sabre\DAV\Auth\Backend\AbstractBasic {
    protected function validateUserPass($username, $password) {
        $users = json_decode(file_get_contents(__DIR__ . '/users.json'), true);
        return isset($users[$username]) && hash_equals($users[$username], $password);
    }
}

$pdo = new \PDO('sqlite:' . __DIR__ . '/data/db.sqlite');
$pdo->setAttribute(PDO::ATTR_ERRMODE, PDO::ERRMODE_EXCEPTION);
$principalBackend = new \Sabre\DAVACL\PrincipalBackend\PDO($pdo);
$caldavBackend = new \Sabre\CalDAV\Backend\PDO($pdo);
$carddavBackend = new \Sabre\CardDAV\Backend\PDO($pdo);
$server = new \Sabre\DAV\Server(array(
    new \Sabre\CalDAV\Principal\Collection($principalBackend),
    new \Sabre\CalDAV\CalendarRootNode($principalBackend, $caldavBackend),
    new \Sabre\CardDAV\AddressBookRoot($principalBackend, $carddavBackend),
));
$server->setBaseUri('/');
$server->addPlugin(new \Sabre\DAV\Auth\Plugin(new CalsyncBasicAuth(), 'SabreDAV'));
$server->addPlugin(new \Sabre\DAV\Browser\Plugin());
$server->addPlugin(new \Sabre\CalDAV\Plugin());
$server->addPlugin(new \Sabre\CardDAV\Plugin());
$server->addPlugin(new \Sabre\DAVACL\Plugin());
$server->exec();
"""

SITE = """
DocumentRoot {root}
<Directory {root}>
    Require all granted
    AllowOverride None
</Directory>
php_value include_path ".:/usr/share/php"
php_admin_flag display_errors off
php_admin_flag log_errors on
php_admin_value error_log {root}/php-error.log
php_admin_value output_buffering 0
RewriteEngine On
RewriteRule ^/\\.well-known/(caldav|carddav)$ / [R=301,L]
# Every request, whatever its path, is the DAV server's.
RewriteRule ^/(?!server\\.php) /server.php [L]
"""


def _provision(database: str) -> None:
    with sqlite3.connect(database) as db:
        for part in ("principals", "calendars", "addressbooks", "locks"):
            db.executescript(Path(SQL.format(part)).read_text())
        db.execute("DELETE FROM principals")  # the example's admin
        for user in USERS:
            db.executemany(
                "INSERT INTO principals (uri, email, displayname) VALUES (?, ?, ?)",
                [
                    (f"principals/{user}", f"{user}@example.org", user.title()),
                    (f"principals/{user}/calendar-proxy-read", None, None),
                    (f"principals/{user}/calendar-proxy-write", None, None),
                ],
            )
            db.execute(
                "INSERT INTO calendars (principaluri, displayname, uri, ctag, components) VALUES (?, ?, ?, 1, ?)",
                (f"principals/{user}", "Default", "default", "VEVENT,VTODO"),
            )
            db.execute(
                "INSERT INTO addressbooks (principaluri, displayname, uri, ctag) VALUES (?, ?, ?, 1)",
                (f"principals/{user}", "Default", "default"),
            )


def start_sabredav() -> RealDavServer:
    started = time.monotonic()
    instance = Instance("sabredav")
    try:
        data = instance.path("data")
        data.mkdir()
        _provision(str(data / "db.sqlite"))
        # SQLite writes its journal next to the file: Apache's user needs the directory too.
        chown(data, "www-data")
        chown(data / "db.sqlite", "www-data")
        instance.write("server.php", SERVER_PHP)
        instance.write("users.json", json.dumps(USERS), owner="www-data", mode=0o600)
        port = free_port()
        site = SITE.format(root=instance.directory)
        start_apache(instance, port, site, modules=["headers", "setenvif"], php=True)
        instance.logs.append(instance.path("php-error.log"))
        root = f"http://127.0.0.1:{port}/"
        wait_for_dav(instance, root + "calendars/alice/default/")
    except BaseException:
        instance.close()
        raise
    return RealDavServer(
        name="sabredav",
        url=root,
        username="alice",
        password=USERS["alice"],
        home="/calendars/alice/",
        process=instance.processes[0],
        directory=instance.directory,
        log=instance.path("apache-error.log"),
        root=root,
        calendar="/calendars/alice/default/",
        addressbook="/addressbooks/alice/default/",
        instance=instance,
        startup_seconds=time.monotonic() - started,
    )
