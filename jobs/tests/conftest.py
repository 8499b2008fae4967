"""Sync, worker and time-sheet tests reach real servers and fakes on loopback as users who are not staff."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def local_servers_allowed(settings) -> None:
    """These tests' users are not staff, and the servers they sync (Radicale, Xandikos, the Zammad
    and Kimai fakes) listen on loopback: the operator allows that address by name, as a deployment
    allows its LAN server. Workers started by the test get the same exception (conftest.py)."""
    settings.CALSYNC_ALLOWED_PRIVATE_NETWORKS = ["127.0.0.1"]
