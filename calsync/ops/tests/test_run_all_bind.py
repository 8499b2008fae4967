"""run_all serves on loopback unless HOST says otherwise."""

from __future__ import annotations

import pytest

from calsync.ops.management.commands.run_all import Command


def web_bind(monkeypatch, **env: str) -> str:
    monkeypatch.delenv("HOST", raising=False)
    monkeypatch.delenv("PORT", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    web = next(child for child in Command()._children() if child.name == "web")
    return web.argv[web.argv.index("--bind") + 1]


def test_it_binds_loopback_by_default(monkeypatch):
    assert web_bind(monkeypatch) == "127.0.0.1:8000"


@pytest.mark.parametrize(
    ("host", "bind"),
    [("0.0.0.0", "0.0.0.0:9000"), ("::", "[::]:9000"), ("192.0.2.5", "192.0.2.5:9000")],  # noqa: S104 (the test)
)
def test_host_and_port_choose_where_it_listens(monkeypatch, host, bind):
    assert web_bind(monkeypatch, HOST=host, PORT="9000") == bind


def test_the_container_listens_on_every_interface():
    from calsync.tests.test_deployment import ROOT

    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "HOST=0.0.0.0" in dockerfile
    assert "--bind ${HOST}:${PORT}" in dockerfile
