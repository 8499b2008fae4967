"""What a Celery worker's pool processes cost, for benches: database queries and peak memory.

Loaded into a worker with ``celery worker --include calsync.testing.worker_stats`` and switched on
by ``CALSYNC_WORKER_STATS_DIR``: every pool process counts the SQL statements it sends (a Django
execute wrapper, by statement shape) and, when it exits, writes ``<pid>.json`` there with the
counts and its peak resident memory (VmHWM). Nothing here runs in production.
"""

from __future__ import annotations

import json
import os
import re
import resource
from collections import Counter
from pathlib import Path
from typing import Any

from celery.signals import worker_process_init, worker_process_shutdown

STATS_DIR = os.environ.get("CALSYNC_WORKER_STATS_DIR", "")
_NUMBERS = re.compile(r"\b\d+\b|'[^']*'")
statements: Counter[str] = Counter()


def shape(sql: str) -> str:
    """A statement without its literals and column lists: what profiling groups by."""
    verb, _, rest = sql.lstrip().partition(" ")
    table = re.search(r'(?:FROM|INTO|UPDATE)\s+"?(\w+)"?', sql)
    return f"{verb.upper()} {table.group(1) if table else _NUMBERS.sub('?', rest)[:40]}"


def _count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
    statements[shape(sql)] += 1
    return execute(sql, params, many, context)


def peak_memory_kib(pid: int | str = "self") -> int:
    """VmHWM (peak resident set) of a process, in KiB; ru_maxrss where /proc is not there."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss if pid == "self" else 0


@worker_process_init.connect
def _install(**_kwargs: Any) -> None:
    if not STATS_DIR:
        return
    from django.db import connection

    statements.clear()
    connection.execute_wrappers.append(_count)


@worker_process_shutdown.connect
def _dump(**_kwargs: Any) -> None:
    if not STATS_DIR:
        return
    stats = {"pid": os.getpid(), "queries": sum(statements.values()), "statements": dict(statements),
             "peak_kib": peak_memory_kib()}  # fmt: skip
    Path(STATS_DIR, f"{os.getpid()}.json").write_text(json.dumps(stats))
