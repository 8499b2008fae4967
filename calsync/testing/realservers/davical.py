"""DAViCal 1.1.12 (Debian's ``davical``) on a private Apache with mod_php and its own PostgreSQL database.

The database is made by DAViCal's own ``create-database.sh`` (roles ``davical_dba`` and
``davical_app``, cluster-wide, are created once and left in place: another session may use them).
"""

from __future__ import annotations

import os
import subprocess
import time

from calsync.testing.realservers.common import (
    PG_ENV,
    USERS,
    Instance,
    RealDavServer,
    ServerStartError,
    free_port,
    psql,
    start_apache,
    unique_database,
    wait_for_dav,
)

HTDOCS = "/usr/share/davical/htdocs"
CREATE_DATABASE = "/usr/share/davical/dba/create-database.sh"

# DAViCal reads its configuration only from /etc/davical/<SERVER_NAME>-conf.php (or a shared
# config.php). Rather than write to /etc, a prepended file points SERVER_NAME at this instance's
# temp dir for the lookup, and the configuration puts the real name back before it is used.
PREPEND_PHP = """<?php
$_SERVER['CALSYNC_SERVER_NAME'] = $_SERVER['SERVER_NAME'];
$_SERVER['SERVER_NAME'] = '../..{directory}/davical';
"""

CONFIG_PHP = """<?php
$_SERVER['SERVER_NAME'] = $_SERVER['CALSYNC_SERVER_NAME'];
$c->domain_name = $_SERVER['SERVER_NAME'];
$c->system_name = 'calsync test DAViCal';
$c->admin_email = 'admin@example.org';
$c->pg_connect[] = 'host={host} port={port} dbname={database} user=davical_app';
$c->home_calendar_name = 'calendar';
$c->home_addressbook_name = 'addresses';
$c->collections_always_exist = false;
$c->enable_auto_schedule = false;
$c->default_locale = 'en_US.UTF-8';
"""

SITE = """
DocumentRoot {htdocs}
AcceptPathInfo On
<Directory {htdocs}>
    DirectoryIndex index.php
    AllowOverride None
    Require all granted
</Directory>
php_admin_value auto_prepend_file {directory}/prepend.php
# php_value, not php_admin_value: always.php adds its own directories with set_include_path().
php_value include_path ".:/usr/share/davical/inc:/usr/share/awl/inc:/usr/share/php"
php_admin_flag display_errors off
php_admin_flag log_errors on
php_admin_value error_log {directory}/php-error.log
php_admin_value error_reporting 22519
RewriteEngine On
RewriteRule ^/\\.well-known/(.*)$ /caldav.php/.well-known/$1 [NC,PT]
"""

USER_SQL = """
INSERT INTO usr (active, email_ok, updated, username, password, fullname, email)
    VALUES (TRUE, current_date, current_date, '{user}', '**{password}', '{name}', '{user}@example.org');
INSERT INTO principal (type_id, user_no, displayname, default_privileges)
    SELECT 1, user_no, '{name}', 0::BIT(24) FROM usr WHERE username = '{user}';
INSERT INTO collection (user_no, parent_container, dav_name, dav_etag, dav_displayname, is_calendar,
                        is_addressbook, created, modified, resourcetypes)
    SELECT user_no, '/{user}/', '/{user}/calendar/', '-1', '{name} calendar', TRUE, FALSE, now(), now(),
           '<DAV::collection/><urn:ietf:params:xml:ns:caldav:calendar/>' FROM usr WHERE username = '{user}';
INSERT INTO collection (user_no, parent_container, dav_name, dav_etag, dav_displayname, is_calendar,
                        is_addressbook, created, modified, resourcetypes)
    SELECT user_no, '/{user}/', '/{user}/addresses/', '-1', '{name} addressbook', FALSE, TRUE, now(), now(),
           '<DAV::collection/><urn:ietf:params:xml:ns:carddav:addressbook/>' FROM usr WHERE username = '{user}';
"""


# create-database.sh creates the roles when they are missing, but two sessions starting at once
# would race for them: make them first, idempotently.
ROLES_SQL = """
DO $$ BEGIN CREATE ROLE davical_dba LOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$;
DO $$ BEGIN CREATE ROLE davical_app LOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$;
"""


def _create_database(instance: Instance, database: str) -> None:
    psql("postgres", ROLES_SQL)
    result = subprocess.run(
        [CREATE_DATABASE, database, "admin-" + USERS["alice"]],
        capture_output=True,
        text=True,
        env={**os.environ, **PG_ENV, "TMPDIR": str(instance.directory)},
        timeout=180,
        check=False,
    )
    # The script reports some failures only in its output (it goes on after a failed psql).
    if result.returncode != 0 or "ERROR" in result.stdout + result.stderr:
        raise ServerStartError(f"davical: create-database.sh failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    sql = "".join(USER_SQL.format(user=user, password=password, name=user.title()) for user, password in USERS.items())
    psql(database, sql)


def start_davical() -> RealDavServer:
    started = time.monotonic()
    instance = Instance("davical")
    try:
        database = unique_database(instance, "calsync_davical")
        _create_database(instance, database)
        instance.write("prepend.php", PREPEND_PHP.format(directory=instance.directory))
        instance.write(
            "davical-conf.php",
            CONFIG_PHP.format(host=PG_ENV["PGHOST"], port=PG_ENV["PGPORT"], database=database),
        )
        port = free_port()
        site = SITE.format(htdocs=HTDOCS, directory=instance.directory)
        instance.logs.append(instance.path("php-error.log"))
        start_apache(instance, port, site, modules=["headers", "setenvif"], php=True)
        root = f"http://127.0.0.1:{port}/"
        wait_for_dav(instance, root + "caldav.php/alice/calendar/")
    except BaseException:
        instance.close()
        raise
    return RealDavServer(
        name="davical",
        url=root + "caldav.php/",
        username="alice",
        password=USERS["alice"],
        home="/alice/",
        process=instance.processes[0],
        directory=instance.directory,
        log=instance.path("apache-error.log"),
        root=root,
        calendar="/caldav.php/alice/calendar/",
        addressbook="/caldav.php/alice/addresses/",
        instance=instance,
        startup_seconds=time.monotonic() - started,
    )
