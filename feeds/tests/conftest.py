"""Feed and import tests sync real servers on loopback as users who are not staff."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def local_servers_allowed(settings) -> None:
    """These tests' users are not staff, and the real DAV servers they sync listen on loopback: the
    operator allows that address by name, as a deployment allows its LAN server. What happens
    without the exception is accounts/tests/test_ssrf.py's and the live attack tests' business."""
    settings.CALSYNC_ALLOWED_PRIVATE_NETWORKS = ["127.0.0.1"]
