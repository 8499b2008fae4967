"""Typed readers for settings that come from the environment.

Every reader accepts ``NAME`` or, for secrets mounted by Docker/Kubernetes, ``NAME_FILE`` (a path
whose contents are the value). A value that cannot be parsed raises ``ImproperlyConfigured``
naming the variable, so a typo fails at start-up instead of turning into a silent default.
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_raw(name: str) -> str | None:
    """The value of ``name``, or the contents of the file named by ``name_FILE``, or None."""
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        try:
            return Path(file_name).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={file_name!r} cannot be read: {exc.strerror}") from None
    return os.environ.get(name)


def env_str(name: str, default: str = "") -> str:
    value = env_raw(name)
    return default if value is None else value


def env_bool(name: str, default: bool = False) -> bool:
    value = env_raw(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false, 1/0), got {value!r}")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    value = env_raw(name)
    if value is None or value.strip() == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, got {value!r}") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {number}")
    return number


def env_float(name: str, default: float, *, minimum: float | None = None) -> float:
    value = env_raw(name)
    if value is None or value.strip() == "":
        return default
    try:
        number = float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, got {value!r}") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {number}")
    return number


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    value = env_raw(name)
    if value is None:
        return list(default or [])
    return [part.strip() for part in value.split(",") if part.strip()]


DATA_DIR_ENTRIES = {"secret_key", "encryption_key", "broker", "cache", "static"}


def private_data_dir(path: Path) -> None:
    """Create ``path`` readable by this user only (0700) and close what an older calsync left open.

    The data dir holds the SQLite database, the generated keys, broker messages and the cache:
    nobody else on the machine may read them. Files created later are covered by the umask
    settings.py sets; files from before it existed (0644 SQLite files) are made 0600 here. A
    directory owned by someone else (a mounted volume) is left as it is.
    """
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.stat().st_uid != os.getuid():
        return
    if path.stat().st_mode & 0o077:
        path.chmod(0o700)
    for child in path.iterdir():
        if child.name not in DATA_DIR_ENTRIES and not child.name.startswith("calsync.sqlite3"):
            continue  # only what calsync itself puts there
        if child.is_symlink() or not child.lstat().st_mode & 0o077:
            continue
        child.chmod(0o700 if child.is_dir() else 0o600)


def generated_secret(path: Path, *, nbytes: int = 48) -> str:
    """Read a secret from ``path``, creating it on first use.

    Web, worker and beat may start at the same moment: ``O_EXCL`` makes exactly one of them write
    the file and the others read what it wrote.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):
            value = path.read_text().strip()
            if value:
                return value
            time.sleep(0.05)
        raise ImproperlyConfigured(f"{path} exists but is empty; delete it to generate a new key") from None
    value = secrets.token_urlsafe(nbytes)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value
