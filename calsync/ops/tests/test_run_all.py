"""manage.py run_all, for real: web, worker and beat on the embedded default, then Ctrl-C.

Runs on the embedded default only (no database or broker marker): it starts its own processes
on a throwaway data dir, exactly as `make run` does on a fresh machine.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from calsync.testing.servers import free_port

PROJECT = Path(__file__).resolve().parents[3]
ADMIN_PASSWORD = "run-all-admin-password"
EMBEDDED_ONLY = ("DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL")


@dataclass
class RunAll:
    process: subprocess.Popen[bytes]
    data_dir: Path
    port: int
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def eventually(self, probe: Callable[[], object], what: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"run_all exited ({self.process.returncode}) before {what}:\n{self.output()[-5000:]}")
            if probe():
                return
            time.sleep(0.2)
        pytest.fail(f"no {what} within {timeout} s:\n{self.output()[-5000:]}")

    def get(self, path: str, **options: object) -> httpx.Response | None:
        try:
            return httpx.get(f"http://127.0.0.1:{self.port}{path}", timeout=5, **options)
        except httpx.TransportError:
            return None

    def answers(self, path: str, **options: object) -> bool:
        response = self.get(path, **options)
        return response is not None and response.status_code == 200

    def heartbeat_kinds(self) -> set[str]:
        with sqlite3.connect(self.data_dir / "calsync.sqlite3", timeout=10) as db:
            return {kind for (kind,) in db.execute("SELECT kind FROM jobs_heartbeat")}

    def child_pids(self) -> dict[str, int]:
        return {name: int(pid) for name, pid in re.findall(r"run_all: started (\w+) \(pid (\d+)\)", self.output())}


def live_processes_in_groups(groups: set[int]) -> list[str]:
    """Every process (not yet a zombie) whose process group is one of ``groups``, from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may contain spaces and parentheses; fields resume after the last ')'.
        state, _ppid, pgrp = stat.rsplit(")", 1)[1].split()[:3]
        if int(pgrp) in groups and state != "Z":
            found.append(f"pid {entry.name} in group {pgrp}: {stat[:80]}")
    return found


@pytest.fixture(scope="module")
def migrated_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated data dir, copied by each test: migrating takes longer than the copy."""
    data_dir = tmp_path_factory.mktemp("run-all-template")
    env = embedded_env(data_dir)
    for command in (["migrate", "--noinput", "-v", "0"], ["ensure_admin"]):
        subprocess.run([sys.executable, "manage.py", *command], cwd=PROJECT, env=env, check=True, capture_output=True)
    return data_dir


def embedded_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in EMBEDDED_ONLY}
    return {**env, "CALSYNC_DATA_DIR": str(data_dir), "CALSYNC_ADMIN_PASSWORD": ADMIN_PASSWORD, **extra}


@pytest.fixture
def run_all(migrated_data_dir: Path, tmp_path: Path) -> Iterator[RunAll]:
    data_dir = tmp_path / "data"
    shutil.copytree(migrated_data_dir, data_dir)
    port = free_port()
    env = embedded_env(
        data_dir,
        PORT=str(port),
        CALSYNC_HEARTBEAT_SECONDS="1",
        CALSYNC_WEB_WORKERS="1",
        CALSYNC_WORKER_CONCURRENCY="1",
    )
    log = tmp_path / "run_all.log"
    with log.open("wb") as handle:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "run_all"],
            cwd=PROJECT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=subprocess.STDOUT,
            # Its own group, like a shell job: the test signals it as a terminal's Ctrl-C would.
            process_group=0,
        )
    instance = RunAll(process=process, data_dir=data_dir, port=port, log=log)
    yield instance
    groups = {process.pid, *instance.child_pids().values()}
    for group in groups:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)
    process.wait()


def wait_until_everything_runs(run_all: RunAll) -> dict[str, int]:
    run_all.eventually(lambda: run_all.answers("/api/health"), "answer from /api/health", timeout=60)
    run_all.eventually(lambda: run_all.heartbeat_kinds() >= {"worker", "beat"}, "worker and beat heartbeats", 30)
    run_all.eventually(
        lambda: run_all.answers("/api/health/detailed", auth=("admin", ADMIN_PASSWORD)),
        "healthy /api/health/detailed",
        timeout=30,
    )
    pids = run_all.child_pids()
    assert set(pids) == {"web", "worker", "beat"}
    return pids


def test_run_all_serves_web_with_a_worker_and_beat_and_ctrl_c_stops_all_three(run_all):
    pids = wait_until_everything_runs(run_all)
    assert "web    | " in run_all.output()
    assert "worker | " in run_all.output()
    assert "beat   | " in run_all.output()

    os.killpg(run_all.process.pid, signal.SIGINT)
    stopping = time.monotonic()
    code = run_all.process.wait(timeout=15)
    took = time.monotonic() - stopping

    assert code == 0, run_all.output()[-3000:]
    assert "run_all: all stopped." in run_all.output()
    assert "still running; killing" not in run_all.output(), f"a child ignored SIGTERM (stop took {took:.1f} s)"
    assert live_processes_in_groups({run_all.process.pid, *pids.values()}) == []


def test_run_all_stops_the_others_and_fails_when_one_child_dies(run_all):
    pids = wait_until_everything_runs(run_all)

    os.killpg(pids["beat"], signal.SIGKILL)
    code = run_all.process.wait(timeout=15)

    assert code != 0
    assert "beat exited unexpectedly" in run_all.output()
    assert live_processes_in_groups({run_all.process.pid, *pids.values()}) == []
