"""Fuzz the running application from its own OpenAPI document with schemathesis.

Every operation of ``/api/openapi.json`` gets generated requests, valid ones and invalid ones,
sent over real HTTP to the live application (gunicorn on the test database). Each answer must not
be a 5xx and must match what the document promises (status code, content type, body schema).

Schemathesis sends through ``requests``, whose connection pool breaks under ``urllib3-future``
(pulled in by niquests, the caldav library's HTTP client); the cases are therefore sent with
``httpx`` and handed back to schemathesis for validation. Generation is derandomized (the seed is
fixed by Hypothesis from each test's source), so a failure reproduces on every run.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import load_all_checks, not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

# One log line per request would bury a failure in thousands of lines.
logging.getLogger("httpx").setLevel(logging.WARNING)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@dataclass
class FuzzReport:
    """What a fuzz pass did: cases sent per status code, and the failures with a reproduction."""

    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)

    @property
    def cases(self) -> int:
        return sum(self.statuses.values())

    server_errors_seen: list[str] = field(default_factory=list)
    request_seconds: float = 0.0  # waiting for answers; the rest of a pass is generating cases


# A closed loopback port: a connection test or dry run against it fails at once, without DNS or timeouts.
DEAD_URL = "http://127.0.0.1:9/"


def seed() -> dict[str, str]:
    """One object of each kind the API addresses by id; returns the ids by the path's resource."""
    from django.contrib.auth import get_user_model

    from accounts.models import Account
    from booking.models import Appointment, Artist, ArtistCalendar
    from feeds.models import IcsFeed
    from jobs.models import SyncJob, SyncLog, SyncRun

    users = get_user_model().objects
    staff = users.create_user("fuzz-staff", password="fuzz-staff-password-1", is_staff=True)  # type: ignore[attr-defined]
    artist = Artist.objects.create(name="Ada", slug="ada", email="ada@example.com", time_zone="Europe/Berlin")
    source = Account.objects.create(owner=staff, name="source", kind="caldav", url=DEAD_URL)
    destination = Account.objects.create(owner=staff, name="destination", kind="caldav", url=DEAD_URL)
    scratch = Account.objects.create(owner=staff, name="scratch", kind="caldav", url=DEAD_URL)
    job = SyncJob.objects.create(owner=staff, name="job", source=source, destination=destination)
    run = SyncRun.objects.create(job=job)
    SyncLog.objects.create(run=run, message="a line")
    feed = IcsFeed.objects.create(owner=staff, path="fuzz-feed", account=source)
    calendar = ArtistCalendar.objects.create(artist=artist, account=source, calendar_url=f"{DEAD_URL}cal/")
    appointment = Appointment.objects.create(
        artist=artist, client_name="Bo", client_email="bo@example.com",
        start=datetime(2031, 3, 4, 10, tzinfo=UTC), end=datetime(2031, 3, 4, 11, tzinfo=UTC),
    )  # fmt: skip
    return {
        "accounts": str(source.pk), "sync-jobs": str(job.pk), "feeds": str(feed.pk),
        "calendars": str(calendar.pk), "appointments": str(appointment.pk), "scratch-account": str(scratch.pk),
    }  # fmt: skip


def pins(ids: dict[str, str]) -> Callable[[str, str, GenerationMode], dict[str, Any]]:
    def pin(method: str, path: str, mode: GenerationMode) -> dict[str, Any]:
        if path == "/api/availability":
            return {"query": {"artist": "ada"}}
        if path == "/api/artists/{ref}/slots":
            return {"path_parameters": {"ref": "ada"}}
        if "{id}" not in path or method == "DELETE":  # a deleted seed would turn the rest into 404s
            return {}
        if mode is GenerationMode.NEGATIVE:  # invalid ids are what an invalid case is made of
            return {}
        resource = next((key for key in ids if f"/{key}/" in path), None)
        if resource == "accounts" and method in ("PUT", "PATCH"):
            # Generated hosts would make the connection tests after it wait on DNS.
            resource = "scratch-account"
        return {"path_parameters": {"id": ids[resource]}} if resource else {}

    return pin


def staff_session(base_url: str, *, username: str, password: str) -> httpx.Client:
    """A client logged in through the admin login form, sending the CSRF token as a browser's JS would."""
    client = httpx.Client(base_url=base_url, timeout=30, follow_redirects=False)
    page = client.get("/admin/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token is not None, "the admin login page has no CSRF token"
    answer = client.post(
        "/admin/login/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": token.group(1), "next": "/admin/"},
        headers={"Referer": base_url},
    )
    assert answer.status_code == 302, f"admin login failed: {answer.status_code}"
    client.headers["X-CSRFToken"] = client.cookies["csrftoken"]
    return client


def anonymous_session(base_url: str) -> httpx.Client:
    return httpx.Client(base_url=base_url, timeout=30, follow_redirects=False)


def _send(client: httpx.Client, case: schemathesis.Case) -> httpx.Response:
    # requests builds the body (JSON, form, multipart) exactly as schemathesis means it; httpx sends it.
    kwargs = case.as_transport_kwargs(base_url=str(client.base_url).rstrip("/"))
    kwargs.pop("cookies", None)
    prepared = requests.Request(**kwargs).prepare()
    body = prepared.body.encode() if isinstance(prepared.body, str) else prepared.body
    headers = {name: value if isinstance(value, str) else value.decode() for name, value in prepared.headers.items()}
    return client.request(prepared.method or "GET", prepared.url or "", headers=headers, content=body)  # type: ignore[arg-type]


def fuzz(
    client: httpx.Client,
    *,
    examples: int,
    pin: Callable[[str, str, GenerationMode], dict[str, Any]] = lambda method, path, mode: {},
) -> FuzzReport:
    """Send ``examples`` valid and ``examples`` invalid cases per operation; collect every failure.

    ``pin(method, path, mode)`` fixes some parameters, such as ``{"query": {"artist": "ada"}}`` or
    ``{"path_parameters": {"id": "3"}}``, so that generated requests get past "no such artist" or
    "not found" to the code behind them. Pin nothing that leaves an invalid case nothing to break:
    Hypothesis would spend its whole budget looking for one.
    """
    load_all_checks()
    document = client.get("/api/openapi.json").json()
    schema = schemathesis.openapi.from_dict(document)
    report = FuzzReport()
    for result in schema.get_all_operations():
        if not isinstance(result, Ok):
            report.failures.append(f"the document has an operation schemathesis cannot read: {result.err()}")
            continue
        operation = result.ok()
        method = operation.method.upper()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _fuzz_operation(client, operation, mode, examples, report, pin(method, operation.path, mode))
    return report


def _fuzz_operation(
    client: httpx.Client,
    operation: schemathesis.APIOperation,
    mode: GenerationMode,
    examples: int,
    report: FuzzReport,
    fixed: dict[str, Any],
) -> None:
    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode, **fixed))
    def one(case: schemathesis.Case) -> None:
        started = time.monotonic()
        response = _send(client, case)
        report.request_seconds += time.monotonic() - started
        report.statuses[response.status_code] += 1
        # A documented 5xx is the contract (the health checks answer 503 when a part is down).
        documented = str(response.status_code) in operation.definition.raw.get("responses", {})
        checks = CHECKS[1:] if documented else CHECKS
        if response.status_code >= 500 and not documented:
            report.server_errors_seen.append(f"{case.method} {response.request.url}: {response.status_code}")
        try:
            case.validate_response(response, checks=checks)
        except FailureGroup as failure:  # every failure is collected and reported together
            report.failures.append(f"{operation.method.upper()} {operation.path} [{mode.value}]: {failure}")

    with contextlib.suppress(Unsatisfiable):  # nothing to make invalid: an operation without parameters or body
        one()
