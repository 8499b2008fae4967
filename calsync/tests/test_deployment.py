"""The files that deploy calsync reference things that exist: Makefile, CI, Dockerfile, compose, README.

Docker cannot run here, so these tests hold the container files to what the code provides.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import shlex
from pathlib import Path

import pytest
import yaml
from django.core.management import get_commands

ROOT = Path(__file__).resolve().parents[2]
ENV_READER = re.compile(r'env_(?:raw|str|bool|int|float|list)\(\s*"([A-Z][A-Z0-9_]*)"')


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def command_of(service: dict) -> str:
    command = service["command"]
    return command if isinstance(command, str) else shlex.join(command)


def manage_py_commands(text: str) -> set[str]:
    return set(re.findall(r"manage\.py\s+([a-z_]+)", text))


def environment_variables_read_by_the_code() -> set[str]:
    sources = [ROOT / "calsync" / "settings.py", *ROOT.glob("*/management/commands/*.py")]
    return {name for source in sources for name in ENV_READER.findall(source.read_text())}


def test_compose_runs_postgres_redis_web_worker_and_beat(compose):
    services = compose["services"]
    assert set(services) == {"postgres", "redis", "web", "worker", "beat"}
    assert services["postgres"]["image"].startswith("postgres:16")
    assert services["redis"]["image"].startswith("redis:7")
    for name in ("web", "worker", "beat"):
        assert services[name]["build"] == "."
        assert services[name]["environment"]["DATABASE_URL"].startswith("postgres://")
        assert services[name]["environment"]["CELERY_BROKER_URL"].startswith("redis://redis:")


def test_the_worker_can_be_scaled(compose):
    worker = compose["services"]["worker"]
    # A fixed container name or a published port would make `--scale worker=3` fail.
    assert "container_name" not in worker
    assert "ports" not in worker


def test_each_scaled_worker_is_healthy_only_while_it_answers_a_ping_through_the_broker(compose):
    check = compose["services"]["worker"]["healthcheck"]["test"]
    # Its own node name (the container's hostname): with --scale worker=N, any other worker
    # answering must not make a stuck one look healthy.
    assert check[0] == "CMD-SHELL" and "inspect ping --destination celery@$$HOSTNAME" in check[1]


def test_web_checks_migrates_and_creates_the_admin_before_gunicorn_starts(compose):
    command = command_of(compose["services"]["web"])
    steps = [command.index(step) for step in ("manage.py check", "manage.py migrate", "manage.py ensure_admin")]
    assert steps == sorted(steps)
    assert steps[-1] < command.index("gunicorn calsync.wsgi")


def test_worker_and_beat_start_celery_with_the_calsync_app(compose):
    assert command_of(compose["services"]["worker"]).startswith("celery -A calsync worker")
    assert command_of(compose["services"]["beat"]).startswith("celery -A calsync beat")
    assert importlib.import_module("calsync.celery").app.main == "calsync"


def test_every_manage_py_command_that_deploys_calsync_exists(compose):
    texts = [command_of(service) for service in compose["services"].values() if "command" in service]
    texts += [(ROOT / name).read_text() for name in ("Dockerfile", "Makefile", "README.md")]
    referenced = set().union(*(manage_py_commands(text) for text in texts))
    assert {"migrate", "ensure_admin", "run_all", "collectstatic", "check"} <= referenced
    assert referenced - set(get_commands()) == set()


def test_the_wsgi_module_gunicorn_serves_exists():
    # Found, not imported: importing builds the whole WSGI stack, which run_all's test exercises.
    assert importlib.util.find_spec("calsync.wsgi") is not None


def test_the_image_is_python_311_slim_runs_as_a_non_root_user_and_serves_with_gunicorn():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim\b", dockerfile, re.MULTILINE)
    assert "pip install -r requirements.txt" in dockerfile
    users = re.findall(r"^USER (\S+)", dockerfile, re.MULTILINE)
    assert users and users[-1] not in {"root", "0"}
    assert re.search(r"^CMD .*gunicorn calsync\.wsgi", dockerfile, re.MULTILINE)


def test_the_image_leaves_out_the_virtualenv_and_the_local_data():
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".venv", "data", ".env", ".git"} <= set(ignored)


def test_ci_runs_the_tests_through_make():
    ci = ROOT / ".ci" / "run"
    assert os.access(ci, os.X_OK)
    text = ci.read_text()
    assert "set -euo pipefail" in text
    assert "make test" in text


def test_the_makefile_has_the_targets_the_readme_promises():
    targets = set(re.findall(r"^([a-z-]+):", (ROOT / "Makefile").read_text(), re.MULTILINE))
    assert {"run", "test", "lint", "bench", "clean"} <= targets


def test_the_operations_page_documents_every_environment_variable():
    operations = (ROOT / "docs" / "operations.md").read_text()
    documented = set(re.findall(r"^\| `([A-Z][A-Z0-9_]*)` \|", operations, re.MULTILINE))
    assert environment_variables_read_by_the_code() - documented == set()


def test_the_operations_page_lists_every_system_check_id():
    from calsync import checks

    ids = set(re.findall(r"calsync\.[EW]\d{3}", checks.__doc__ or ""))
    assert ids
    assert ids <= set(re.findall(r"calsync\.[EW]\d{3}", (ROOT / "docs" / "operations.md").read_text()))
