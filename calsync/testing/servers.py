"""Start real CalDAV/CardDAV servers (Radicale, Xandikos) on free loopback ports.

Both are pure-Python servers from PyPI; each runs as a subprocess with its data in a temp dir, so
a test talks to them over real HTTP exactly as calsync talks to Nextcloud or SOGo.
"""

from __future__ import annotations

import base64
import http.client
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class DavServer:
    """A running server: ``url`` is its root; ``home`` is where a user's collections live."""

    name: str
    url: str
    username: str
    password: str
    home: str
    process: subprocess.Popen = field(repr=False)
    directory: Path = field(repr=False)
    log: Path = field(repr=False)
    command: list[str] = field(default_factory=list, repr=False)
    env: dict[str, str] | None = field(default=None, repr=False)
    auth: tuple[str, str] | None = field(default=None, repr=False)

    def stop(self) -> None:
        self.halt()
        shutil.rmtree(self.directory, ignore_errors=True)

    def halt(self) -> None:
        """Stop the process and keep its data: until ``restart()`` its port refuses connections,
        as a server that went away does."""
        if self.process.poll() is None:
            self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def restart(self) -> None:
        """The same server on the same port with the same storage, as after a reboot."""
        self.halt()
        deadline = time.monotonic() + 30
        while True:  # the port may linger for a moment after the old process closed it
            self.process = _launch(self.command, self.log, self.env, append=True)
            try:
                _wait_until_serving(self.url, self.process, self.log, auth=self.auth)
                return
            except RuntimeError:
                if time.monotonic() > deadline:
                    raise
                self.halt()
                time.sleep(0.5)

    def collection_url(self, name: str) -> str:
        return f"{self.url.rstrip('/')}{self.home}{name}/"


def _answers(url: str, auth: tuple[str, str] | None) -> bool:
    """Any HTTP answer at all (even a 401) means the server is up."""
    parts = urlsplit(url)
    headers = {}
    if auth:
        headers["Authorization"] = "Basic " + base64.b64encode(":".join(auth).encode()).decode()
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=1)
    try:
        connection.request("OPTIONS", parts.path or "/", headers=headers)
        connection.getresponse().read()
        return True
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()


def _wait_until_serving(url: str, process: subprocess.Popen, log: Path, auth: tuple[str, str] | None = None) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        if _answers(url, auth):
            return
        time.sleep(0.05)
    raise RuntimeError(f"server at {url} did not answer within 30 s:\n{log.read_text()[-3000:]}")


def _launch(command: list[str], log: Path, env: dict[str, str] | None, *, append: bool = False) -> subprocess.Popen:
    return subprocess.Popen(command, stdout=log.open("ab" if append else "wb"), stderr=subprocess.STDOUT, env=env)


def start_radicale(username: str = "alice", password: str = "s3cret-pass", *, fsync: bool = True) -> DavServer:
    """``fsync=False`` trades durability, which a test's temp dir does not need, for speed."""
    directory = Path(tempfile.mkdtemp(prefix="calsync-radicale-"))
    users = directory / "users"
    users.write_text(f"{username}:{password}\n")
    port = free_port()
    log = directory / "server.log"
    command = [
        sys.executable, "-m", "radicale",
        "--server-hosts", f"127.0.0.1:{port}",
        "--storage-filesystem-folder", str(directory / "collections"),
        "--auth-type", "htpasswd",
        "--auth-htpasswd-filename", str(users),
        "--auth-htpasswd-encryption", "plain",
        "--rights-type", "owner_only",
        "--logging-level", "warning",
    ]  # fmt: skip
    if not fsync:  # Radicale takes its switch for this from code only
        launcher = "import os, sys; os.fsync = lambda fd: None; from radicale.__main__ import run; sys.exit(run())"
        command[1:3] = ["-c", launcher]
    process = _launch(command, log, None)
    url = f"http://127.0.0.1:{port}/"
    auth = (username, password)
    _wait_until_serving(url, process, log, auth=auth)
    return DavServer("radicale", url, username, password, f"/{username}/", process, directory, log, command, None, auth)


def start_xandikos(username: str = "user") -> DavServer:
    """Xandikos serves one user without authentication on plain HTTP (it refuses Basic auth
    without TLS); calsync still sends the configured credentials, which it ignores."""
    directory = Path(tempfile.mkdtemp(prefix="calsync-xandikos-"))
    port = free_port()
    log = directory / "server.log"
    command = [
        str(BIN / "xandikos"), "serve",
        "-d", str(directory / "data"),
        "--state-dir", str(directory / "state"),
        "-l", "127.0.0.1", "-p", str(port),
        "--autocreate",
        "--current-user-principal", f"/{username}/",
        "--no-detect-systemd",
    ]  # fmt: skip
    env = {**os.environ, "XDG_DATA_HOME": str(directory / "xdg")}
    process = _launch(command, log, env)
    url = f"http://127.0.0.1:{port}/"
    _wait_until_serving(url, process, log)
    return DavServer("xandikos", url, username, "unused", f"/{username}/", process, directory, log, command, env)
