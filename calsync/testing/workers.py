"""Start real ``celery worker`` subprocesses that share the test database and broker.

The worker is the production code path (bootsteps, acks_late, prefork pool); the tests only
publish tasks and look at the database, exactly as the web process does.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

READY_TIMEOUT_SECONDS = 60
T = TypeVar("T")


def database_url(settings_dict: dict[str, Any]) -> str:
    """A DATABASE_URL for the database a Django connection points at (the test database)."""
    engine = settings_dict["ENGINE"]
    if engine == "django.db.backends.sqlite3":
        name = str(settings_dict["NAME"])
        if name == ":memory:" or "mode=memory" in name:
            raise RuntimeError("an in-memory SQLite test database cannot be shared with a subprocess")
        return f"sqlite:///{name}"
    if engine == "django.db.backends.postgresql":
        user = quote(settings_dict.get("USER") or "", safe="")
        password = quote(settings_dict.get("PASSWORD") or "", safe="")
        credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
        host = settings_dict.get("HOST") or "localhost"
        port = f":{settings_dict['PORT']}" if settings_dict.get("PORT") else ""
        return f"postgres://{credentials}{host}{port}/{quote(settings_dict['NAME'], safe='')}"
    raise RuntimeError(f"no DATABASE_URL form for {engine}")


@dataclass
class CeleryWorkerProcess:
    """One running worker; ``nodename`` is unique, so its Heartbeat row is ``worker@<nodename>``."""

    nodename: str
    process: subprocess.Popen[bytes]
    log: Path
    _log_handle: Any = field(repr=False)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_until_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if f"{self.nodename} ready." in self.output():
                return
            if self.process.poll() is not None:
                raise RuntimeError(f"celery worker exited with {self.process.returncode}:\n{self.output()[-4000:]}")
            time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"celery worker not ready within {READY_TIMEOUT_SECONDS} s:\n{self.output()[-4000:]}")

    def stop(self, timeout: float = 20) -> int:
        """Warm shutdown (SIGTERM), as on a deploy; SIGKILL if it hangs. Returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=timeout)
        return self.kill()

    def kill(self) -> int:
        """SIGKILL the worker and its pool processes at once, as when a machine dies."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        code = self.process.wait()
        self._log_handle.close()
        return code


def launch_celery_worker(
    *,
    database: str,
    log_dir: Path,
    concurrency: int = 1,
    extra_args: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
) -> CeleryWorkerProcess:
    """Start a worker on ``database`` (a DATABASE_URL) and the broker this process is configured for."""
    from django.conf import settings

    nodename = f"test-{uuid.uuid4().hex[:8]}@localhost"
    log = log_dir / f"{nodename.split('@')[0]}.log"
    handle = log.open("wb")
    child_env = {
        **os.environ,
        "DATABASE_URL": database,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        # The same data dir means the same filesystem broker folders and generated keys.
        "CALSYNC_DATA_DIR": str(settings.DATA_DIR),
        "CALSYNC_HEARTBEAT_SECONDS": "1",
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    argv = [
        sys.executable, "-m", "celery", "-A", "calsync", "worker",
        "--hostname", nodename,
        "--concurrency", str(concurrency),
        "--loglevel", "INFO",
        # Gossip and mingle talk to other workers; a test worker has none to wait for.
        "--without-gossip", "--without-mingle",
        *extra_args,
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
    worker = CeleryWorkerProcess(nodename=nodename, process=process, log=log, _log_handle=handle)
    worker.wait_until_ready()
    return worker


def eventually(probe: Callable[[], T], *, timeout: float = 30, what: str = "") -> T:
    """Poll ``probe`` until it returns something truthy (and return that), or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = probe()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError(f"not true within {timeout} s: {what or probe}")
