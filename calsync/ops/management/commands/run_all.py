"""Run web, one Celery worker and Celery beat together: the embedded default's one command."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from contextlib import suppress
from dataclasses import dataclass, field
from types import FrameType
from typing import IO, Any

from django.core.management.base import BaseCommand, CommandError

from calsync.env import env_int, env_str

# Long enough for gunicorn to finish in-flight requests (its graceful timeout is set below it).
# A worker still busy after this is killed: tasks are acks_late, so the broker redelivers them.
STOP_GRACE_SECONDS = 10
POLL_SECONDS = 0.2


@dataclass
class Child:
    name: str
    argv: list[str]
    process: subprocess.Popen[bytes] | None = None
    reader: threading.Thread | None = field(default=None, repr=False)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


class Command(BaseCommand):
    help = (
        "Run gunicorn, a Celery worker and Celery beat as child processes; Ctrl-C stops all three. "
        "If one exits on its own, the others are stopped and the command fails."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        self._signals: list[int] = []
        self._output_lock = threading.Lock()
        children = self._children()
        handlers = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        crashed: Child | None = None
        try:
            for child in children:
                self._start(child)
            crashed = self._watch(children)
        finally:
            self._stop(children)
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
        if crashed is not None:
            assert crashed.process is not None
            raise CommandError(
                f"run_all: {crashed.name} exited unexpectedly with code {crashed.process.returncode}; "
                "stopped the others."
            )
        self._say("run_all: all stopped.")

    def _children(self) -> list[Child]:
        python = sys.executable
        port = env_int("PORT", 8000, minimum=1)
        # Loopback unless told otherwise: a laptop's `make run` must not serve the admin to the
        # café's network. Containers set HOST=0.0.0.0 (Dockerfile).
        host = env_str("HOST", "127.0.0.1").strip() or "127.0.0.1"
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        web_workers = env_int("CALSYNC_WEB_WORKERS", 2, minimum=1)
        web_threads = env_int("CALSYNC_WEB_THREADS", 4, minimum=1)
        concurrency = env_int("CALSYNC_WORKER_CONCURRENCY", 2, minimum=1)
        return [
            Child("web", [
                python, "-m", "gunicorn", "calsync.wsgi",
                "--bind", f"{host}:{port}",
                "--workers", str(web_workers),
                # Threads: requests mostly wait on the database; measured ~35% more req/s on 2 cores.
                "--worker-class", "gthread", "--threads", str(web_threads),
                "--graceful-timeout", str(STOP_GRACE_SECONDS - 2),
                "--access-logfile", "-",
                "--logger-class", "calsync.logredact.RedactingGunicornLogger",
                # Its default control socket is one path per user, which two instances would share.
                "--no-control-socket",
            ]),
            Child("worker", [
                python, "-m", "celery", "-A", "calsync", "worker",
                "--concurrency", str(concurrency), "-l", "INFO",
            ]),
            Child("beat", [python, "-m", "celery", "-A", "calsync", "beat", "-l", "INFO"]),
        ]  # fmt: skip

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._signals.append(signum)

    def _start(self, child: Child) -> None:
        child.process = subprocess.Popen(
            child.argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            # A terminal's Ctrl-C goes to the whole foreground group; children in groups of their
            # own hear only us, so shutdown happens in one order we control.
            process_group=0,
        )
        assert child.process.stdout is not None
        child.reader = threading.Thread(target=self._relay, args=(child.name, child.process.stdout), daemon=True)
        child.reader.start()
        self._say(f"run_all: started {child.name} (pid {child.process.pid})")

    def _relay(self, name: str, stream: IO[bytes]) -> None:
        prefix = f"{name:<6} | "
        for raw in iter(stream.readline, b""):
            self._say(prefix + raw.decode(errors="replace").rstrip("\n"))

    def _say(self, line: str) -> None:
        with self._output_lock:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()

    def _watch(self, children: list[Child]) -> Child | None:
        while not self._signals:
            for child in children:
                if not child.running:
                    return child
            time.sleep(POLL_SECONDS)
        self._say(f"run_all: {signal.Signals(self._signals[0]).name} received, stopping…")
        return None

    def _stop(self, children: list[Child]) -> None:
        for child in children:
            if child.running:
                assert child.process is not None
                with suppress(ProcessLookupError):
                    child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        # A second Ctrl-C means "now": skip the grace period.
        while any(child.running for child in children) and time.monotonic() < deadline and len(self._signals) < 2:
            time.sleep(POLL_SECONDS / 2)
        stubborn = [child.name for child in children if child.running]
        if stubborn:
            self._say(f"run_all: {', '.join(stubborn)} still running; killing.")
        for child in children:
            if child.process is None:
                continue
            # The whole group, so pool processes or gunicorn workers a leader left behind go too.
            with suppress(ProcessLookupError, PermissionError):
                os.killpg(child.process.pid, signal.SIGKILL)
            child.process.wait()
            if child.reader is not None:
                child.reader.join(timeout=2)
