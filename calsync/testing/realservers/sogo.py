"""SOGo 5.8 (Mailcow's groupware; Debian's ``sogo``): sogod behind a private Apache, privately.

sogod runs as user ``sogo``, not detached, on a loopback ``WOPort``, with memcached on a unix
socket in the temp dir and its tables in a PostgreSQL database of its own; users come from a SQL
table there. The settings are given on sogod's command line (GNUstep's argument domain), which
outranks /etc/sogo/sogo.conf, so the packaged file is neither read for anything that matters nor
changed. Each user's ``personal`` calendar and address book appear on first access.
"""

from __future__ import annotations

import hashlib
import time

from calsync.testing.realservers.common import (
    PG_ENV,
    USERS,
    Instance,
    RealDavServer,
    chown,
    free_port,
    psql,
    start_apache,
    unique_database,
    wait_for_dav,
)

SITE = """
ProxyRequests Off
ProxyPreserveHost On
# No keep-alive to sogod: its workers serve one request per connection.
SetEnv proxy-nokeepalive 1
ProxyPass /SOGo http://127.0.0.1:{sogo_port}/SOGo retry=0 nocanon
<Proxy http://127.0.0.1:{sogo_port}/SOGo>
    RequestHeader set "x-webobjects-server-port" "{port}"
    RequestHeader set "x-webobjects-server-name" "127.0.0.1"
    RequestHeader set "x-webobjects-server-url" "http://127.0.0.1:{port}"
    RequestHeader set "x-webobjects-server-protocol" "HTTP/1.0"
    RequestHeader unset "x-webobjects-remote-user"
    Require all granted
</Proxy>
RewriteEngine On
RewriteRule ^/\\.well-known/(caldav|carddav)/?$ /SOGo/dav [R=301,L]
"""


def _plist(value: object) -> str:
    """A GNUstep property list literal (strings quoted, arrays and dictionaries nested)."""
    if isinstance(value, dict):
        return "{" + " ".join(f"{key} = {_plist(item)};" for key, item in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "(" + ", ".join(_plist(item) for item in value) + ")"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _settings(instance: Instance, database: str, sogo_port: int) -> dict[str, object]:
    url = f"postgresql://{PG_ENV['PGUSER']}@{PG_ENV['PGHOST']}:{PG_ENV['PGPORT']}/{database}"
    return {
        "WOPort": f"127.0.0.1:{sogo_port}",
        "WONoDetach": "YES",
        "WOLogFile": str(instance.path("home/sogod.log")),
        "WOPidFile": str(instance.path("home/sogod.pid")),
        "WOWorkersCount": "3",
        "SOGoProfileURL": f"{url}/sogo_user_profile",
        "OCSFolderInfoURL": f"{url}/sogo_folder_info",
        "OCSSessionsFolderURL": f"{url}/sogo_sessions_folder",
        "OCSEMailAlarmsFolderURL": f"{url}/sogo_alarms_folder",
        "SOGoUserSources": [
            {
                "type": "sql",
                "id": "users",
                "viewURL": f"{url}/sogo_users",
                "canAuthenticate": "YES",
                "isAddressBook": "NO",
                "userPasswordAlgorithm": "md5",
                "displayName": "Users",
            }
        ],
        "SOGoMemcachedHost": str(instance.path("home/memcached.sock")),
        # Mail is not under test: a dummy IMAP server, and no e-mail notifications at all.
        "SOGoIMAPServer": "imap://127.0.0.1:9/",
        "SOGoSieveServer": "sieve://127.0.0.1:9/",
        "SOGoMailDomain": "example.org",
        "SOGoMailingMechanism": "smtp",
        "SOGoSMTPServer": "smtp://127.0.0.1:9",
        "SOGoAppointmentSendEMailNotifications": "NO",
        "SOGoACLsSendEMailNotifications": "NO",
        "SOGoFoldersSendEMailNotifications": "NO",
        "SOGoTimeZone": "UTC",
        "SOGoLanguage": "English",
        # The failed-login lockout off, so a wrong-password test never locks a user out.
        "SOGoMaximumFailedLoginCount": "0",
    }


USERS_TABLE = """
CREATE TABLE sogo_users (c_uid VARCHAR(128) PRIMARY KEY, c_name VARCHAR(128), c_password VARCHAR(256),
                         c_cn VARCHAR(256), mail VARCHAR(256));
"""
USER_ROW = "INSERT INTO sogo_users VALUES ('{user}', '{user}', '{md5}', '{name}', '{user}@example.org');"


def _create_users(database: str) -> None:
    psql("postgres", f"CREATE DATABASE {database}")
    rows = [
        # SOGo's md5 password scheme (userPasswordAlgorithm = md5), as in the fact sheet.
        USER_ROW.format(user=user, md5=hashlib.md5(password.encode()).hexdigest(), name=user.title())  # noqa: S324
        for user, password in USERS.items()
    ]
    psql(database, USERS_TABLE + "".join(rows))


def start_sogo() -> RealDavServer:
    started = time.monotonic()
    instance = Instance("sogo")
    try:
        database = unique_database(instance, "calsync_sogo")
        _create_users(database)
        home = instance.path("home")  # the sogo user's: sockets, log, pid file, GNUstep defaults
        home.mkdir()
        chown(home, "sogo")
        instance.spawn(
            ["memcached", "-s", str(instance.path("home/memcached.sock")), "-a", "0700", "-m", "16"],
            log="memcached.log",
            user="sogo",
        )
        instance.wait_for("memcached socket", instance.path("home/memcached.sock").exists)
        sogo_port = free_port()
        arguments: list[str] = []
        for key, value in _settings(instance, database, sogo_port).items():
            # Plain strings as they are; arrays and dictionaries as property lists, which GNUstep parses.
            arguments += [f"-{key}", value if isinstance(value, str) else _plist(value)]
        instance.logs.append(instance.path("home/sogod.log"))
        # sogod's watchdog takes 10-40 s to exit after TERM: its processes are killed after 2 s.
        instance.spawn(
            ["/usr/sbin/sogod", *arguments],
            log="sogod.out",
            user="sogo",
            env={"HOME": str(home), "GNUSTEP_USER_ROOT": str(home / "GNUstep")},
            grace=2.0,
        )
        port = free_port()
        start_apache(
            instance,
            port,
            SITE.format(sogo_port=sogo_port, port=port),
            modules=[
                "proxy",
                "proxy_http",
                "headers",
                "setenvif",
                "authz_host",
            ],
        )
        root = f"http://127.0.0.1:{port}/"
        for user in USERS:  # the first access makes each user's personal calendar and address book
            wait_for_dav(instance, root + f"SOGo/dav/{user}/Calendar/personal/", user=user)
            wait_for_dav(instance, root + f"SOGo/dav/{user}/Contacts/personal/", user=user)
    except BaseException:
        instance.close()
        raise
    return RealDavServer(
        name="sogo",
        url=root + "SOGo/dav/",
        username="alice",
        password=USERS["alice"],
        home="/alice/Calendar/",
        process=instance.processes[1],
        directory=instance.directory,
        log=instance.path("home/sogod.log"),
        root=root,
        calendar="/SOGo/dav/alice/Calendar/personal/",
        addressbook="/SOGo/dav/alice/Contacts/personal/",
        instance=instance,
        startup_seconds=time.monotonic() - started,
    )
