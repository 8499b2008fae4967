"""Run python-caldav's own functional test suite against CalDAV servers and read its verdicts.

The suite ships in caldav's sdist (``.ci/install-caldav-suite`` fetches the pinned version from
PyPI into ``.cache/caldav-suite``). It reads the servers to test from
``tests/caldav_test_servers.json`` relative to its working directory and generates one class
``TestForServer<name>`` per server; each server here gets its own run, in its own directory, and
all runs go at once (they mostly wait on the network). Every server is configured the same way,
as an ``external`` server with no compatibility hints, so each one meets the same tests and the
verdicts compare.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import caldav
from defusedxml.ElementTree import parse

ROOT = Path(__file__).resolve().parents[3]
CACHE = ROOT / ".cache" / "caldav-suite"
# Variables of the calling test run that must not leak into the suite's interpreter.
DROPPED_ENV = ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "CELERY_BROKER_URL", "PYTEST_ADDOPTS", "PYTHONPATH")


@dataclass(frozen=True)
class SuiteServer:
    name: str
    url: str
    username: str
    password: str


@dataclass
class SuiteResult:
    """The suite's verdicts for one server, by test name (``testCreateOverwriteDeleteEvent``)."""

    passed: set[str] = field(default_factory=set)
    failed: set[str] = field(default_factory=set)
    skipped: set[str] = field(default_factory=set)
    output: str = ""

    def counts(self) -> str:
        return f"{len(self.passed)} passed, {len(self.failed)} failed, {len(self.skipped)} skipped"


def suite_directory() -> Path:
    """The unpacked sdist of the installed caldav version, fetched from PyPI when missing."""
    suite = CACHE / f"caldav-{caldav.__version__}"
    if not (suite / "tests" / "test_caldav.py").is_file():
        subprocess.run([str(ROOT / ".ci" / "install-caldav-suite"), str(CACHE)], check=True, cwd=ROOT)
    return suite


def run_suite(servers: list[SuiteServer], work: Path, *, timeout: float = 540) -> dict[str, SuiteResult]:
    """Run the suite's per-server functional tests against each server, all at once."""
    suite = suite_directory()
    running = {server.name: _start(suite, server, work / server.name) for server in servers}
    results = {}
    for name, process in running.items():
        try:
            output, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
        results[name] = _verdicts(work / name / "junit.xml", output)
    return results


def _start(suite: Path, server: SuiteServer, directory: Path) -> subprocess.Popen[str]:
    (directory / "tests").mkdir(parents=True)
    (directory / "tmp").mkdir()
    # Not the bare name: "radicale" or "xandikos" would merge into the suite's embedded servers.
    configured = f"{server.name}_under_test"
    config = {
        "test-servers": {
            configured: {
                "type": "external",
                "url": server.url,
                "username": server.username,
                "password": server.password,
            }
        }
    }
    (directory / "tests" / "caldav_test_servers.json").write_text(json.dumps(config))
    env = {key: value for key, value in os.environ.items() if key not in DROPPED_ENV}
    env.update(
        PYTHONPATH=str(CACHE / "deps"),
        HOME=str(directory),  # keeps a developer's own ~/.config/caldav out
        TMPDIR=str(directory / "tmp"),  # the suite's per-server lock files
        PYTHON_CALDAV_TEST_EMBEDDED="0",
        PYTHON_CALDAV_TEST_DOCKER="0",
        PYTHONDONTWRITEBYTECODE="1",
    )
    command = [
        sys.executable, "-m", "pytest", str(suite / "tests" / "test_caldav.py"),
        "-k", f"TestForServer{configured}", "-q", "-p", "no:cacheprovider", "-p", "no:django",
        # The suite's pytest settings name pytest-asyncio's option, which this venv does not need.
        "-W", "ignore::pytest.PytestConfigWarning",
        "--timeout", "120", "--junitxml", str(directory / "junit.xml"),
    ]  # fmt: skip
    return subprocess.Popen(
        command, cwd=directory, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def _verdicts(junit: Path, output: str) -> SuiteResult:
    result = SuiteResult(output=output)
    if not junit.is_file():
        return result
    for case in parse(junit).getroot().iter("testcase"):
        name = case.get("name", "")
        if case.find("failure") is not None or case.find("error") is not None:
            result.failed.add(name)
        elif case.find("skipped") is not None:
            result.skipped.add(name)
        else:
            result.passed.add(name)
    return result
