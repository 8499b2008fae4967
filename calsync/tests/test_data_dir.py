"""The data dir and what calsync writes into it are readable by calsync's user only."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from django.conf import settings

TOUCH_EVERYTHING = (
    "from django.core.cache import cache; cache.set('probe', 1);"
    "from django.db import connection; connection.ensure_connection();"
    "connection.cursor().execute('CREATE TABLE IF NOT EXISTS probe (x int)')"
)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def run_calsync(data_dir: Path) -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "SECRET_KEY", "CALSYNC_ENCRYPTION_KEYS"}
    }
    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", TOUCH_EVERYTHING],
        cwd=settings.BASE_DIR,
        env={**env, "CALSYNC_DATA_DIR": str(data_dir)},
        # A shell's usual umask: what calsync creates must not depend on the operator's.
        preexec_fn=lambda: os.umask(0o022),
        check=True,
        capture_output=True,
    )


def test_a_fresh_data_dir_and_its_files_are_private(tmp_path):
    data = tmp_path / "data"

    run_calsync(data)

    assert mode(data) == 0o700
    for name in ("calsync.sqlite3", "secret_key", "encryption_key"):
        assert mode(data / name) == 0o600, name
    assert {mode(folder) for folder in (data / "broker").rglob("*") if folder.is_dir()} == {0o700}
    cache_files = [path for path in (data / "cache").rglob("*") if path.is_file()]
    assert cache_files and {mode(path) for path in cache_files} == {0o600}


def test_files_an_older_calsync_left_readable_are_closed_at_start(tmp_path):
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    old_db = data / "calsync.sqlite3"
    old_db.touch()
    old_db.chmod(0o644)
    stranger = data / "notes.txt"  # not calsync's: left alone
    stranger.touch()
    stranger.chmod(0o644)

    run_calsync(data)

    assert mode(data) == 0o700
    assert mode(old_db) == 0o600
    assert mode(stranger) == 0o644
