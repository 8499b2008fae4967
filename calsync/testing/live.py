"""The running application as ``make run`` starts it, for tests that attack it from outside.

``launch_live_app`` starts gunicorn (``calsync.wsgi``, gthread workers, the production settings
path: DEBUG off, CSRF and the WSGI server in the way) on a free loopback port, on the test
database, so a test talks to calsync over real HTTP exactly as a browser, a phone or an attacker
does. Django's test client skips CSRF and the WSGI server; these tests must not.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from calsync.testing.servers import free_port

READY_TIMEOUT_SECONDS = 60


@dataclass
class LiveApp:
    """A running gunicorn serving calsync; ``url`` has no trailing slash."""

    url: str
    port: int
    process: subprocess.Popen[bytes] = field(repr=False)
    log: Path = field(repr=False)
    _log_handle: IO[bytes] = field(repr=False)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def request(
        self, method: str, path: str, *, body: bytes | str | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        """One request on a fresh connection: (status, lower-cased headers, body)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        finally:
            connection.close()

    def stop(self, timeout: float = 15) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=timeout)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self._log_handle.close()


def launch_live_app(
    *, database: str, log_dir: Path, env: dict[str, str] | None = None, workers: int = 2, threads: int = 4
) -> LiveApp:
    """Start gunicorn on ``database`` (a DATABASE_URL) and wait until it answers."""
    from django.conf import settings

    port = free_port()
    log = log_dir / f"gunicorn-{port}.log"
    handle = log.open("wb")
    child_env = {
        **os.environ,
        "DATABASE_URL": database,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "CALSYNC_DATA_DIR": str(settings.DATA_DIR),
        "DEBUG": "false",
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    argv = [
        sys.executable, "-m", "gunicorn", "calsync.wsgi",
        "--bind", f"127.0.0.1:{port}",
        "--workers", str(workers), "--worker-class", "gthread", "--threads", str(threads),
        "--access-logfile", "-", "--no-control-socket",
        "--logger-class", "calsync.logredact.RedactingGunicornLogger",
    ]  # fmt: skip
    process = subprocess.Popen(
        argv,
        cwd=settings.BASE_DIR,
        env=child_env,
        stdin=subprocess.DEVNULL,
        stdout=handle,
        stderr=subprocess.STDOUT,
        process_group=0,
    )
    app = LiveApp(url=f"http://127.0.0.1:{port}", port=port, process=process, log=log, _log_handle=handle)
    _wait_until_ready(app)
    return app


def _wait_until_ready(app: LiveApp) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if app.process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {app.process.returncode}:\n{app.output()[-4000:]}")
        try:
            status, _headers, _body = app.request("GET", "/api/health")
        except OSError:
            time.sleep(0.1)
            continue
        if status == 200:
            return
        time.sleep(0.1)
    app.stop()
    raise RuntimeError(f"gunicorn not ready within {READY_TIMEOUT_SECONDS} s:\n{app.output()[-4000:]}")
