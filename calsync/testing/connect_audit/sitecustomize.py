"""Loaded by a Python process started with this directory on PYTHONPATH (tests only).

Records every outbound socket connection the process makes in the file named by
CALSYNC_TEST_CONNECT_LOG, one ``host port`` line each, through the interpreter's audit hooks, so an
attack test can prove the application never dialled an address it must refuse.
"""

import os
import sys
from pathlib import Path

_LOG = os.environ.get("CALSYNC_TEST_CONNECT_LOG")


def _record(event: str, args: tuple) -> None:
    if event != "socket.connect" or not _LOG:
        return
    address = args[1]
    if isinstance(address, tuple) and len(address) >= 2:
        with Path(_LOG).open("a", encoding="utf-8") as log:
            log.write(f"{address[0]} {address[1]}\n")


if _LOG:
    sys.addaudithook(_record)
