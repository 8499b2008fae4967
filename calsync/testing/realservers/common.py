"""What the four production servers' test peers share: process groups, readiness, Apache, PostgreSQL.

Each server runs as a private instance: its own temp dir, its own configuration, free loopback
ports, its own PostgreSQL database (dropped at the end). Nothing of the packaged system services
is used or touched; .ci/install-dav-servers installs the packages without starting them.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from calsync.testing.servers import DavServer, free_port

__all__ = ["Instance", "RealDavServer", "ServerStartError", "free_port"]

# Two users on every server, so sharing and "another user's data" tests have someone to meet.
USERS = {"alice": "alice-S3cret-pw", "bob": "bob-S3cret-pw"}
START_TIMEOUT = float(os.environ.get("CALSYNC_REAL_SERVER_TIMEOUT", "90"))
APACHE_MODULES = Path("/usr/lib/apache2/modules")


class ServerStartError(RuntimeError):
    """A server did not come up; the message carries the tail of its logs."""


@dataclass
class RealDavServer(DavServer):
    """A ``DavServer`` whose user ``alice`` (and ``bob``) have a default calendar and address book.

    ``url`` is the DAV root a user would give a client; ``root`` is the bare ``http://host:port/``
    (where ``/.well-known`` lives); ``calendar`` and ``addressbook`` are alice's default collections'
    paths. ``stop()`` ends every process group the instance started and drops its database.
    """

    root: str = ""
    calendar: str = ""
    addressbook: str = ""
    users: dict[str, str] = field(default_factory=lambda: dict(USERS))
    startup_seconds: float = 0.0
    instance: Instance | None = field(default=None, repr=False)

    def stop(self) -> None:
        if self.instance is not None:
            self.instance.close()


class Instance:
    """A temp dir plus everything started for one server, undone in reverse order by ``close()``."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.directory = Path(tempfile.mkdtemp(prefix=f"calsync-{name}-"))
        # Servers drop root and run as their own users (www-data, sogo, cyrus): they must reach it.
        self.directory.chmod(0o755)
        self.logs: list[Path] = []
        self.processes: list[subprocess.Popen] = []
        self.databases: list[str] = []
        self.names: dict[int, str] = {}  # pid -> program, for messages
        self._cleanups: list[Callable[[], None]] = []

    def path(self, name: str) -> Path:
        return self.directory / name

    def on_close(self, cleanup: Callable[[], None]) -> None:
        self._cleanups.append(cleanup)

    def write(self, name: str, text: str, *, owner: str | None = None, mode: int = 0o644) -> Path:
        target = self.path(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        target.chmod(mode)
        if owner:
            chown(target, owner)
        return target

    def spawn(
        self,
        args: Sequence[str],
        *,
        log: str,
        user: str | None = None,
        env: dict[str, str] | None = None,
        grace: float = 5.0,
    ) -> subprocess.Popen:
        """Start ``args`` in a process group of its own; ``close()`` TERMs it, KILLs it after ``grace`` s."""
        log_path = self.path(log)
        self.logs.append(log_path)
        run_as = user if user and os.geteuid() == 0 else None
        with log_path.open("ab") as output:
            process = subprocess.Popen(
                list(args),
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                cwd=self.directory,
                env={**os.environ, **(env or {})},
                start_new_session=True,  # its own process group: stopping it reaches every child
                user=run_as,
                group=pwd.getpwnam(run_as).pw_gid if run_as else None,
                extra_groups=[] if run_as else None,
            )
        self.processes.append(process)
        self.names[process.pid] = Path(args[0]).name
        self.on_close(lambda: stop_group(process, grace))
        return process

    def log_tail(self, lines: int = 40) -> str:
        parts = []
        for log in self.logs:
            if log.exists():
                text = log.read_text(errors="replace").splitlines()[-lines:]
                parts.append(f"--- {log.name} ---\n" + "\n".join(text))
        return "\n".join(parts) or "(no log output)"

    def fail(self, message: str) -> ServerStartError:
        return ServerStartError(f"{self.name}: {message}\n{self.log_tail()}")

    def check_alive(self) -> None:
        for process in self.processes:
            if process.poll() is not None:
                raise self.fail(f"{self.names[process.pid]} exited with {process.returncode}")

    def wait_for(
        self, what: str, ready: Callable[[], bool], timeout: float = START_TIMEOUT, last: Callable[[], str] = str
    ) -> None:
        """Poll ``ready()`` until it holds; fail with the logs if a process dies or time runs out.

        ``last()`` says what the final attempt saw, for the message.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            if ready():
                return
            time.sleep(0.1)
        raise self.fail(f"{what} not ready within {timeout:.0f} s{last()}")

    def close(self) -> None:
        errors = []
        for cleanup in reversed(self._cleanups):
            try:
                cleanup()
            except Exception as error:  # undo the rest, then report
                errors.append(f"{cleanup}: {error!r}")
        self._cleanups.clear()
        shutil.rmtree(self.directory, ignore_errors=True)
        if errors:
            raise RuntimeError(f"{self.name}: stopping failed: " + "; ".join(errors))


def stop_group(process: subprocess.Popen, grace: float) -> None:
    """TERM the process group, then KILL it and every descendant: nothing may outlive the session.

    Descendants are looked up first because some leave the group (sogod's workers call setsid).
    """
    family = descendants(process.pid)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=grace)
    # Children (Apache workers, cyrus services) may linger after the leader has gone.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    for pid in family:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    process.wait()


def descendants(pid: int) -> list[int]:
    """Every process below ``pid``, from /proc (children first found, grandchildren after)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                # The command name is in parentheses and may hold spaces: the ppid follows the last ")".
                stat = (entry / "stat").read_text()
                parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    found: list[int] = []
    frontier = [pid]
    while frontier:
        children = [child for child, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


def chown(path: Path, user: str) -> None:
    if os.geteuid() == 0:
        entry = pwd.getpwnam(user)
        os.chown(path, entry.pw_uid, entry.pw_gid)


def http_status(url: str, method: str = "OPTIONS", auth: tuple[str, str] | None = None) -> int | None:
    """The status a request gets, or None when nothing answers yet."""
    parts = urlsplit(url)
    headers = {"Depth": "0"}
    if auth:
        headers["Authorization"] = "Basic " + base64.b64encode(":".join(auth).encode()).decode()
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=5)
    try:
        connection.request(method, parts.path or "/", headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status
    except (OSError, http.client.HTTPException):
        return None
    finally:
        connection.close()


def wait_for_dav(instance: Instance, url: str, user: str = "alice", timeout: float = START_TIMEOUT) -> None:
    """Ready means an authenticated PROPFIND gets a 207, not merely that a port is open."""
    password = USERS[user]
    seen: list[int | None] = [None]

    def ready() -> bool:
        seen[0] = http_status(url, "PROPFIND", (user, password))
        return seen[0] == 207

    instance.wait_for(f"PROPFIND {url} as {user}", ready, timeout, lambda: f" (last answer: {seen[0] or 'none'})")


# --- Apache -------------------------------------------------------------------------------------


def start_apache(instance: Instance, port: int, site: str, *, modules: Sequence[str], php: bool = False) -> None:
    """A private Apache (prefork) on 127.0.0.1:``port`` with ``site`` as its whole configuration body."""
    wanted = ["mpm_prefork", "authz_core", "mime", "dir", "alias", "rewrite", "env", *modules]
    loads = [f"LoadModule {name}_module {APACHE_MODULES}/mod_{name}.so" for name in dict.fromkeys(wanted)]
    if php:
        loads.append(f"LoadModule php_module {APACHE_MODULES}/libphp8.2.so")
        loads.append('<FilesMatch "\\.php$">\n    SetHandler application/x-httpd-php\n</FilesMatch>')
    user = "www-data" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
    config = "\n".join(
        [
            *loads,
            f"ServerRoot {instance.directory}",
            "ServerName 127.0.0.1",
            f"Listen 127.0.0.1:{port}",
            f"PidFile {instance.path('apache.pid')}",
            f"DefaultRuntimeDir {instance.path('apache-run')}",
            f"Mutex file:{instance.path('apache-run')} default",
            f"User {user}",
            f"Group {user}",
            f"ErrorLog {instance.path('apache-error.log')}",
            "LogLevel warn",
            'LogFormat "%h %r %>s" brief',
            f"CustomLog {instance.path('apache-access.log')} brief",
            "TypesConfig /etc/mime.types",
            "StartServers 2",
            "MinSpareServers 2",
            "MaxSpareServers 4",
            "MaxRequestWorkers 16",
            "KeepAlive On",
            site,
        ]
    )
    instance.path("apache-run").mkdir(exist_ok=True)
    instance.write("apache.conf", config + "\n")
    instance.logs.append(instance.path("apache-error.log"))
    # apache2 itself, not apache2ctl: /etc/apache2/envvars and the packaged apache2.conf stay unread.
    instance.spawn(["/usr/sbin/apache2", "-DFOREGROUND", "-f", str(instance.path("apache.conf"))], log="apache.out")
    instance.wait_for(f"Apache on port {port}", lambda: http_status(f"http://127.0.0.1:{port}/") is not None)


# --- PostgreSQL ---------------------------------------------------------------------------------

# The machine's own PostgreSQL (trust auth on loopback), as for calsync's own PostgreSQL test pass.
PG_ENV = {
    "PGHOST": os.environ.get("CALSYNC_REAL_SERVERS_PGHOST", "127.0.0.1"),
    "PGPORT": os.environ.get("CALSYNC_REAL_SERVERS_PGPORT", "5432"),
    "PGUSER": os.environ.get("CALSYNC_REAL_SERVERS_PGUSER", "postgres"),
}


def psql(database: str, sql: str, *, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        ["psql", "-qXAt", "-v", "ON_ERROR_STOP=1", "-d", database, "-c", sql],
        capture_output=True,
        text=True,
        env={**os.environ, **PG_ENV, **(env or {})},
        timeout=60,
        check=False,
    )
    if result.returncode != 0:
        raise ServerStartError(f"psql on {database} failed: {result.stderr.strip()}")
    return result.stdout


def unique_database(instance: Instance, prefix: str) -> str:
    """A name for a new database, dropped (with its sessions) when the instance closes.

    The name carries the test process's pid: databases a killed run left behind (its pid gone)
    are dropped here, so they cannot pile up on a developer's PostgreSQL.
    """
    _drop_orphans(prefix)
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    instance.databases.append(name)

    def drop() -> None:
        psql("postgres", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    instance.on_close(drop)
    return name


def _drop_orphans(prefix: str) -> None:
    for name in psql("postgres", "SELECT datname FROM pg_database").split():
        if not name.startswith(prefix + "_"):
            continue
        pid = name[len(prefix) + 1 :].split("_", 1)[0]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            psql("postgres", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
