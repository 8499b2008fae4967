"""Test-only tasks: registered only in a worker started with ``--include calsync.testing.poison_tasks``."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from celery import shared_task


@shared_task(name="calsync.testing.kill_own_worker")
def kill_own_worker(marker: str) -> None:
    """Note this delivery in ``marker``, then SIGKILL the pool process running it (as the OOM killer would)."""
    with Path(marker).open("a") as handle:
        handle.write(f"{os.getpid()}\n")
    os.kill(os.getpid(), signal.SIGKILL)
