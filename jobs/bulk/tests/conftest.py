"""Bulk migration tests: users on a real Radicale, created by writing its storage directly."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

import pytest

from calsync.testing.samples import timed_event
from calsync.testing.servers import DavServer


@pytest.fixture(autouse=True)
def local_servers_allowed(settings) -> None:
    """The owners here are not staff and Radicale/Xandikos listen on loopback: the operator
    allows that address by name, as a deployment allows its LAN server (workers get it too)."""
    settings.CALSYNC_ALLOWED_PRIVATE_NETWORKS = ["127.0.0.1"]


@dataclass(frozen=True)
class DavUser:
    name: str
    password: str
    events: int


def radicale_user(server: DavServer, *, events: int = 0, prefix: str = "u") -> DavUser:
    """A new user on the session's Radicale with one calendar of ``events`` events, written into
    its storage (far quicker than PUTs; Radicale reads the files and the user file as they are)."""
    user = DavUser(f"{prefix}{uuid.uuid4().hex[:8]}", f"pw-{uuid.uuid4().hex}", events)
    with (server.directory / "users").open("a") as users:
        users.write(f"{user.name}:{user.password}\n")
    if events:
        calendar = server.directory / "collections" / "collection-root" / user.name / "work"
        calendar.mkdir(parents=True)
        props = {"tag": "VCALENDAR", "D:displayname": f"Work of {user.name}",
                 "C:supported-calendar-component-set": "VEVENT,VTODO"}  # fmt: skip
        (calendar / ".Radicale.props").write_text(json.dumps(props))
        for n in range(events):
            (calendar / f"event-{n}.ics").write_bytes(timed_event(n))
    return user


def csv_of(*rows: tuple[str, str, str, str]) -> str:
    lines = ["source_user,source_password,destination_user,destination_password"]
    lines += [",".join(row) for row in rows]
    return "\n".join(lines) + "\n"
