"""Cyrus IMAP 3.6 httpd (Fastmail's server; Debian's ``cyrus-imapd`` + ``cyrus-caldav``), privately.

One ``cyrmaster`` with its own imapd.conf and cyrus.conf runs ``httpd`` on a loopback port and
``imapd`` on a unix socket only; users live in a private sasldb. The admin creates each user's
mailbox over IMAP, then the first authenticated DAV request provisions ``Default`` calendar and
address book (and ``Inbox/``, ``Outbox/``).
"""

from __future__ import annotations

import contextlib
import imaplib
import os
import signal
import socket
import subprocess
import time

from calsync.testing.realservers.common import (
    USERS,
    Instance,
    RealDavServer,
    ServerStartError,
    chown,
    descendants,
    free_port,
    wait_for_dav,
)

ADMIN = ("cyrus", "cyrus-Adm1n-pw")
REALM = "calsync-cyrus"  # servername: also the SASL realm users are stored under

IMAPD_CONF = """\
configdirectory: {d}/config
proc_path: {d}/run/proc
mboxname_lockpath: {d}/run/lock
defaultpartition: default
partition-default: {d}/spool
sievedir: {d}/sieve
servername: {realm}
altnamespace: no
unixhierarchysep: no
hashimapspool: true
umask: 077
admins: cyrus
allowplaintext: yes
sasl_pwcheck_method: auxprop
sasl_auxprop_plugin: sasldb
sasl_sasldb_path: {d}/sasldb2
sasl_mech_list: PLAIN LOGIN
sasl_auto_transition: no
httpmodules: caldav carddav
caldav_allowscheduling: on
lmtpsocket: {d}/run/socket/lmtp
idlesocket: {d}/run/socket/idle
notifysocket: {d}/run/socket/notify
syslog_prefix: calsync-cyrus
"""

# master does not hand its -C to what it starts: every command names the private imapd.conf.
CYRUS_CONF = """\
START {{
    recover cmd="ctl_cyrusdb -C {d}/imapd.conf -r"
}}
SERVICES {{
    imap cmd="imapd -C {d}/imapd.conf" listen="{d}/run/socket/imap" prefork=0 maxchild=10
    http cmd="httpd -C {d}/imapd.conf" listen="127.0.0.1:{port}" prefork=1 maxchild=20
}}
EVENTS {{
}}
"""

MASTER = "/usr/lib/cyrus/bin/master"


class _UnixIMAP(imaplib.IMAP4):
    """imapd listens on a unix socket only, so nothing but this test can reach it."""

    def __init__(self, path: str) -> None:
        self._path = path
        super().__init__()

    def _create_socket(self, timeout: float | None = None) -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout or 30)
        sock.connect(self._path)
        return sock


def _saslpasswd(instance: Instance, user: str, password: str) -> None:
    result = subprocess.run(
        ["saslpasswd2", "-p", "-c", "-f", str(instance.path("sasldb2")), "-u", REALM, user],
        input=password,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if result.returncode != 0:
        raise ServerStartError(f"cyrus: saslpasswd2 {user} failed: {result.stderr.strip()}")


def _create_mailboxes(instance: Instance) -> None:
    socket_path = instance.path("run/socket/imap")
    instance.wait_for("imapd socket", socket_path.exists)
    try:
        imap = _UnixIMAP(str(socket_path))
        try:
            imap.login(*ADMIN)
            for user in USERS:
                status, answer = imap.create(f"user.{user}")
                if status != "OK":
                    raise instance.fail(f"IMAP CREATE user.{user} failed: {answer}")
        finally:
            imap.logout()
    except (OSError, imaplib.IMAP4.error) as error:
        raise instance.fail(f"creating the mailboxes over IMAP failed: {error}") from error


# A Murder backend's settings: Cyrus httpd honours Authorize-As (proxy authorisation) only when
# both are set (imap/httpd.c, proxy_authz(): "proxy authz attempted on non-Murder backend"
# otherwise, a 401). The mupdate server is never reached by reads and writes of items; creating a
# mailbox (a user, a collection) would need it, so the users are provisioned before this is set.
MURDER_BACKEND_CONF = "mupdate_server: 127.0.0.1:{closed}\nproxyservers: {admin}\n"


def _become_murder_backend(instance: Instance, imapd_conf, master: subprocess.Popen, root: str) -> None:
    imapd_conf.write_text(imapd_conf.read_text() + MURDER_BACKEND_CONF.format(closed=free_port(), admin=ADMIN[0]))
    # Services read imapd.conf when they start: master starts new ones for those that stop.
    for pid in descendants(master.pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    wait_for_dav(instance, root + "dav/calendars/user/alice/Default/")


def start_cyrus(*, proxy_authorisation: bool = False) -> RealDavServer:
    """``proxy_authorisation``: a Murder backend whose admin may act for users (Authorize-As);
    no collection can be created on it (see MURDER_BACKEND_CONF)."""
    started = time.monotonic()
    instance = Instance("cyrus")
    try:
        for directory in ("config", "spool", "sieve", "run/proc", "run/lock", "run/socket"):
            instance.path(directory).mkdir(parents=True)
            chown(instance.path(directory), "cyrus")
        chown(instance.path("run"), "cyrus")
        for user, password in {**USERS, ADMIN[0]: ADMIN[1]}.items():
            _saslpasswd(instance, user, password)
        chown(instance.path("sasldb2"), "cyrus")
        port = free_port()
        imapd_conf = instance.write("imapd.conf", IMAPD_CONF.format(d=instance.directory, realm=REALM))
        cyrus_conf = instance.write("cyrus.conf", CYRUS_CONF.format(d=instance.directory, port=port))
        # master drops to the cyrus user itself (it refuses to run services as root).
        # Cyrus logs only to syslog (nothing of it in the log tail unless /dev/log is served).
        instance.spawn(
            [MASTER, "-C", str(imapd_conf), "-M", str(cyrus_conf), "-p", str(instance.path("run/master.pid"))],
            log="master.log",
        )
        _create_mailboxes(instance)
        root = f"http://127.0.0.1:{port}/"
        for user in USERS:  # the first authenticated request provisions the DAV collections
            wait_for_dav(instance, root + f"dav/calendars/user/{user}/", user=user)
        wait_for_dav(instance, root + "dav/calendars/user/alice/Default/")
        if proxy_authorisation:
            _become_murder_backend(instance, imapd_conf, instance.processes[0], root)
    except BaseException:
        instance.close()
        raise
    return RealDavServer(
        name="cyrus",
        url=root + "dav/",
        username="alice",
        password=USERS["alice"],
        home="/calendars/user/alice/",
        process=instance.processes[0],
        directory=instance.directory,
        log=instance.path("master.log"),
        root=root,
        calendar="/dav/calendars/user/alice/Default/",
        addressbook="/dav/addressbooks/user/alice/Default/",
        instance=instance,
        startup_seconds=time.monotonic() - started,
    )
