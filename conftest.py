"""Fixtures shared by every app's tests: real DAV peers and the service checks.

With CI=true a missing PostgreSQL, Redis or browser is a failure, never a skip.
"""

from __future__ import annotations

import pytest

from accounts.testing.servers import DavServer, start_radicale, start_xandikos


@pytest.fixture(scope="session")
def radicale() -> DavServer:
    server = start_radicale()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def xandikos() -> DavServer:
    server = start_xandikos()
    yield server
    server.stop()


@pytest.fixture(params=["radicale", "xandikos"])
def dav_server(request) -> DavServer:
    """Each test that uses this runs once against every real server."""
    return request.getfixturevalue(request.param)
