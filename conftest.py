"""Fixtures shared by every app's tests: real DAV peers and the service checks.

With CI=true a missing PostgreSQL, Redis or browser is a failure, never a skip.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from calsync.testing.live import LiveApp, launch_live_app
from calsync.testing.servers import DavServer, start_radicale, start_xandikos
from calsync.testing.workers import CeleryWorkerProcess, database_url, launch_celery_worker


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


# --- The production servers users migrate between (issue 14) ------------------------------------

REAL_SERVERS = ("sogo", "cyrus", "davical", "sabredav")


def _start_real_server(name: str) -> Iterator[DavServer]:
    """Start SOGo, Cyrus, DAViCal or sabre/dav from its Debian package (``make test`` installs them).

    A server that is installed but does not start fails the test, with its log tail. Packages not
    installed skip it, loudly, except with CI=true, where that is a failure too.
    """
    from calsync.testing.realservers import STARTERS, require_installed

    require_installed(name)
    server = STARTERS[name]()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def sogo() -> Iterator[DavServer]:
    yield from _start_real_server("sogo")


@pytest.fixture(scope="session")
def cyrus() -> Iterator[DavServer]:
    yield from _start_real_server("cyrus")


@pytest.fixture(scope="session")
def davical() -> Iterator[DavServer]:
    yield from _start_real_server("davical")


@pytest.fixture(scope="session")
def sabredav() -> Iterator[DavServer]:
    yield from _start_real_server("sabredav")


@pytest.fixture(
    params=["radicale", "xandikos", *(pytest.param(name, marks=pytest.mark.realservers) for name in REAL_SERVERS)]
)
def real_server(request) -> DavServer:
    """Each test that uses this runs against all six: Radicale, Xandikos and the four production servers."""
    return request.getfixturevalue(request.param)


# --- Real Celery workers sharing the test database ----------------------------------------------


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix: None) -> Iterator[None]:
    """One test database per pytest session, which worker subprocesses can open too.

    Concurrent sessions on one machine (two checkouts, two engineers) must not share it: on
    PostgreSQL each would drop the other's ``test_<name>``. On SQLite the database is a file
    rather than memory, so another process can open it, in a directory of its own that takes
    SQLite's -wal/-shm files with it.
    """
    from django.conf import settings

    default = settings.DATABASES["default"]
    if default["ENGINE"] != "django.db.backends.sqlite3":
        test = default.setdefault("TEST", {})
        if not test.get("NAME"):
            test["NAME"] = f"test_{default['NAME']}_{os.getpid()}"
        yield
        return
    directory = Path(tempfile.mkdtemp(prefix="calsync-testdb-"))
    default.setdefault("TEST", {})["NAME"] = str(directory / "test_calsync.sqlite3")
    yield
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def eager_tasks() -> Iterator[None]:
    """Celery tasks run in-process (when their transaction commits), so what a view starts finishes in the test."""
    from calsync.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


@pytest.fixture
def start_celery_worker(transactional_db: None, tmp_path: Path) -> Iterator[Callable[..., CeleryWorkerProcess]]:
    """Start real ``celery worker`` processes on this test's database and broker.

    ``start_celery_worker(concurrency=1, extra_args=(), env={})`` returns a running worker with
    ``stop()`` (warm shutdown) and ``kill()`` (SIGKILL of the whole process group, as when a
    machine dies); every worker still running is stopped when the test ends. The database is
    transactional because a worker is another process: it sees committed rows only. The queue is
    purged first, so messages an interrupted earlier run left on the broker cannot leak in.
    """
    from django.conf import settings as django_settings
    from django.db import connection

    from calsync.celery import app

    app.control.purge()
    started: list[CeleryWorkerProcess] = []

    def start(**options: object) -> CeleryWorkerProcess:
        # The worker is another process: the outbound-address exceptions the test set reach it too.
        allowed = ",".join(django_settings.CALSYNC_ALLOWED_PRIVATE_NETWORKS)
        options["env"] = {"CALSYNC_ALLOWED_PRIVATE_NETWORKS": allowed, **(options.get("env") or {})}  # type: ignore[dict-item]
        worker = launch_celery_worker(database=database_url(connection.settings_dict), log_dir=tmp_path, **options)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def celery_worker_process(start_celery_worker: Callable[..., CeleryWorkerProcess]) -> CeleryWorkerProcess:
    """One real worker, ready to consume, on this test's database and broker."""
    return start_celery_worker()


@pytest.fixture
def start_live_app(transactional_db: None, tmp_path: Path) -> Iterator[Callable[..., LiveApp]]:
    """Start calsync under gunicorn, as ``make run`` does, on this test's database.

    ``start_live_app(env={...})`` returns a running app (``url``, ``request()``); settings the test
    needs (say, a throttle rate) go in ``env``. Every app still running is stopped when the test
    ends. Attack tests use it: Django's test client skips CSRF and the WSGI server.
    """
    from django.db import connection

    started: list[LiveApp] = []

    def start(**options: object) -> LiveApp:
        app = launch_live_app(database=database_url(connection.settings_dict), log_dir=tmp_path, **options)
        started.append(app)
        return app

    yield start
    for app in started:
        app.stop()


@pytest.fixture
def live_app(start_live_app: Callable[..., LiveApp]) -> LiveApp:
    """calsync under gunicorn with the default settings, on this test's database."""
    return start_live_app()


# --- Test selection ------------------------------------------------------------------------------


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Give the ``django_db`` marker to tests that reach the database only through fixtures.

    pytest-django marks only tests decorated with it, but ``make test`` selects the PostgreSQL
    pass with ``-m "django_db or broker or postgres"``: a test using ``db``, ``client`` or
    ``admin_client`` must not silently skip PostgreSQL. A bare marker changes nothing else: the
    fixtures still decide whether the test is transactional.
    """
    for item in items:
        if "_django_db_helper" in getattr(item, "fixturenames", ()) and item.get_closest_marker("django_db") is None:
            item.add_marker(pytest.mark.django_db)
        # A test that starts SOGo, Cyrus, DAViCal or sabre/dav belongs to the ``realservers`` group.
        if set(REAL_SERVERS) & set(getattr(item, "fixturenames", ())) and not item.get_closest_marker("realservers"):
            item.add_marker(pytest.mark.realservers)


# --- A real browser -------------------------------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright (its own browser download cannot work here).

    ``make test`` installs chromium through .ci/install-browser; a missing browser is a failure,
    never a skip.
    """
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running on this thread; Django would then refuse
    # the test's own ORM calls as "async context". They are plain synchronous calls.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run .ci/install-browser (make test does)")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage"],
        )
        yield instance
        instance.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def admin_page(page, live_server, admin_user):
    """A browser page logged into the admin as ``admin`` on the live test server."""
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "password")
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    return page
