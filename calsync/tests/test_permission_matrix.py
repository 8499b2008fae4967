"""Who may do what, for every URL pattern calsync serves, generated from the URLconf.

Every pattern of ``calsync.urls`` must have a row in ``MATRIX`` (the admin's own patterns: in
``ADMIN``), naming each method the view allows and the status each role gets for it; a pattern or
a method without a row fails the suite, so a new endpoint cannot arrive without a rule. Each cell
runs on a fresh world: two non-staff users (``owner``, who owns every object, and ``other``), a
staff member, and anonymous.

Cells read ``(anon, owner, other, staff)``. ``None`` accepts any answer below 500 (the owner's
or staff's own business, decided by the endpoint's own tests); a number or a set must match.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from fnmatch import fnmatch

import pytest
from django.contrib.auth.models import User
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from rest_framework.test import APIClient

from accounts.models import Account, Collection
from booking.models import Appointment, Artist, ArtistCalendar
from feeds.dav.models import Calendar
from feeds.dav.services import app_password_create
from feeds.models import IcsFeed
from jobs.bulk.models import BulkMigration, MigrationUser
from jobs.models import Conflict, SyncJob, SyncRun

pytestmark = pytest.mark.django_db

ROLES = ("anon", "owner", "other", "staff")
Expect = int | frozenset[int] | None
Row = tuple[Expect, Expect, Expect, Expect]

ANY = None
NOT_FOUND_OR_FORBIDDEN = frozenset({403, 404})
LOGIN = "login"  # the admin's redirect to its login page

# A private feed without its token is "not found" for everybody, its owner included.
# fmt: off
MATRIX: dict[str, tuple[str, dict[str, Row]]] = {
    # key (URL name, or the route of an unnamed pattern): (path, {method: (anon, owner, other, staff)})
    "openapi": ("/api/openapi.json", {"GET": (200, 200, 200, 200)}),
    "api-docs": ("/api/docs/", {"GET": (200, 200, 200, 200)}),
    "api-redoc": ("/api/redoc/", {"GET": (200, 200, 200, 200)}),
    # The console: staff only; everybody else is sent to log in (its live JSON just refuses).
    # PROPFIND and OPTIONS on / are CalDAV discovery: Basic app passwords only, a session is nobody.
    "dashboard": ("/", {"GET": (LOGIN, LOGIN, LOGIN, 200), "PROPFIND": (401, 401, 401, 401),
                        "OPTIONS": (200, 200, 200, 200)}),
    "dashboard-live": ("/console/live.json", {"GET": (403, 403, 403, 200)}),
    "account-list": ("/api/accounts", {"GET": (401, 200, 200, 200), "POST": (401, 400, 400, 400)}),
    # The account is a sync job's source: deleting it is refused (409), never a 500.
    "account-detail": ("/api/accounts/{account}", {
        "GET": (401, 200, 404, 200), "PUT": (401, 400, 404, 400), "PATCH": (401, 200, 404, 200),
        "DELETE": (401, 409, 404, 409),
    }),
    # Listing discovers on the server: 502 when it cannot be reached (here: never, see world()).
    "account-collections": ("/api/accounts/{account}/collections", {"GET": (401, 502, 404, 502)}),
    "account-test": ("/api/accounts/{account}/test", {"POST": (401, 200, 404, 200)}),
    "health": ("/api/health", {"GET": (200, 200, 200, 200)}),
    "health-detailed": ("/api/health/detailed", {"GET": (401, 403, 403, frozenset({200, 503}))}),
    "worker-status": ("/api/worker/status", {"GET": (401, 403, 403, 200)}),
    "sync-job-list": ("/api/sync-jobs", {"GET": (401, 200, 200, 200), "POST": (401, 400, 400, 400)}),
    "sync-job-detail": ("/api/sync-jobs/{job}", {
        "GET": (401, 200, 404, 200), "PUT": (401, 400, 404, 400), "PATCH": (401, 200, 404, 200),
        "DELETE": (401, ANY, 404, ANY),
    }),
    "sync-job-cancel": ("/api/sync-jobs/{job}/cancel", {"POST": (401, ANY, 404, ANY)}),
    # A dry run reads both servers; the job's accounts are olga's, so even staff's run may not reach them.
    "sync-job-dry-run": ("/api/sync-jobs/{job}/dry-run", {"POST": (401, 502, 404, 502)}),
    "sync-job-logs": ("/api/sync-jobs/{job}/logs", {"GET": (401, 200, 404, 200)}),
    "sync-job-pause": ("/api/sync-jobs/{job}/pause", {"POST": (401, ANY, 404, ANY)}),
    "sync-job-resume": ("/api/sync-jobs/{job}/resume", {"POST": (401, ANY, 404, ANY)}),
    "sync-job-runs": ("/api/sync-jobs/{job}/runs", {"GET": (401, 200, 404, 200)}),
    "sync-job-start": ("/api/sync-jobs/{job}/start", {"POST": (401, ANY, 404, ANY)}),
    "sync-job-owed": ("/api/sync-jobs/{job}/owed", {"GET": (401, 200, 404, 200)}),
    "sync-run-list": ("/api/sync-runs", {"GET": (401, 200, 200, 200)}),
    "sync-run-detail": ("/api/sync-runs/{run}", {"GET": (401, 200, 404, 200)}),
    "sync-run-report": ("/api/sync-runs/{run}/report", {"GET": (401, 200, 404, 200)}),
    "sync-run-report-csv": ("/api/sync-runs/{run}/report.csv", {"GET": (401, 200, 404, 200)}),
    # Bulk migrations: the owner's; a dry run is queued (202), one task per user; a delete takes the jobs and accounts.
    "migration-list": ("/api/migrations", {"GET": (401, 200, 200, 200), "POST": (401, 400, 400, 400)}),
    "migration-detail": ("/api/migrations/{migration}", {"GET": (401, 200, 404, 200), "DELETE": (401, 204, 404, 204)}),
    "migration-users": ("/api/migrations/{migration}/users", {"GET": (401, 200, 404, 200)}),
    "migration-upload": ("/api/migrations/{migration}/upload", {"POST": (401, 400, 404, 400)}),
    "migration-start": ("/api/migrations/{migration}/start", {"POST": (401, 202, 404, 202)}),
    "migration-retry": ("/api/migrations/{migration}/retry", {"POST": (401, 202, 404, 202)}),
    "migration-dry-run": ("/api/migrations/{migration}/dry-run", {"POST": (401, 202, 404, 202)}),
    "migration-schedule": ("/api/migrations/{migration}/schedule", {"POST": (401, 200, 404, 200)}),
    "migration-report-csv": ("/api/migrations/{migration}/report.csv", {"GET": (401, 200, 404, 200)}),
    "conflict-list": ("/api/conflicts", {"GET": (401, 200, 200, 200)}),
    "conflict-detail": ("/api/conflicts/{conflict}", {"GET": (401, 200, 404, 200)}),
    "conflict-resolve": ("/api/conflicts/{conflict}/resolve", {"POST": (401, 400, 404, 400)}),
    # The token in the path is the credential; a wrong one is refused for everybody alike.
    "zammad-webhook": ("/api/webhooks/zammad/not-a-real-token", {
        "POST": (NOT_FOUND_OR_FORBIDDEN,) * 4,
    }),
    "gdpr-export": ("/api/gdpr/export", {"GET": (401, 403, 403, 400)}),
    "gdpr-purge": ("/api/gdpr/purge", {"POST": (401, 403, 403, 400)}),
    "ics-feed-list": ("/api/feeds", {"GET": (401, 200, 200, 200), "POST": (401, 400, 400, 400)}),
    "ics-feed-detail": ("/api/feeds/{feed}", {
        "GET": (401, 200, 404, 200), "PUT": (401, 400, 404, 400), "PATCH": (401, 200, 404, 200),
        "DELETE": (401, ANY, 404, ANY),
    }),
    "ics-feed-status": ("/api/feeds/{feed}/status", {"GET": (401, 200, 404, 200)}),
    "ics-feed-sync": ("/api/feeds/{feed}/sync", {"POST": (401, ANY, 404, ANY)}),
    "ics-feed": ("/ics/{feed_path}.ics", {"GET": (404, 404, 404, 404)}),
    "dav-well-known": ("/.well-known/caldav", {
        "GET": (301, 301, 301, 301), "PROPFIND": (301, 301, 301, 301), "POST": (301, 301, 301, 301),
    }),
    "dav-well-known-carddav": ("/.well-known/carddav", {"GET": (404, 404, 404, 404), "PROPFIND": (404, 404, 404, 404)}),
    # DAV authenticates with app passwords only (Basic); a session means nothing there.
    "dav": ("/dav/calendars/{owner_name}/work/", {
        "PROPFIND": (401, 207, NOT_FOUND_OR_FORBIDDEN, NOT_FOUND_OR_FORBIDDEN),
        "PROPPATCH": (401, ANY, NOT_FOUND_OR_FORBIDDEN, NOT_FOUND_OR_FORBIDDEN),
        "MKCALENDAR": (401, ANY, NOT_FOUND_OR_FORBIDDEN, NOT_FOUND_OR_FORBIDDEN),
        "MKCOL": (401, ANY, NOT_FOUND_OR_FORBIDDEN, NOT_FOUND_OR_FORBIDDEN),
        "REPORT": (401, ANY, NOT_FOUND_OR_FORBIDDEN, NOT_FOUND_OR_FORBIDDEN),
        "GET": (401, ANY, NOT_FOUND_OR_FORBIDDEN, NOT_FOUND_OR_FORBIDDEN),
        "HEAD": (401, ANY, NOT_FOUND_OR_FORBIDDEN, NOT_FOUND_OR_FORBIDDEN),
        "PUT": (401, ANY, NOT_FOUND_OR_FORBIDDEN, NOT_FOUND_OR_FORBIDDEN),
        "DELETE": (401, ANY, NOT_FOUND_OR_FORBIDDEN, NOT_FOUND_OR_FORBIDDEN),
        "OPTIONS": (200, 200, 404, 404),
    }),
    # The studio's public face: open to everybody.
    "booking-page": ("/book/", {"GET": (200, 200, 200, 200)}),
    "availability": ("/api/availability", {"GET": (400, 400, 400, 400)}),
    "booking-artists": ("/api/artists", {"GET": (200, 200, 200, 200)}),
    "booking-slots": ("/api/artists/{artist}/slots", {"GET": (ANY, ANY, ANY, ANY)}),
    "appointment-list": ("/api/appointments", {"GET": (401, 403, 403, 200), "POST": (400, 400, 400, 400)}),
    # The studio's back office: staff only.
    "booking-sync": ("/api/booking/sync", {"POST": (401, 403, 403, 202)}),
    "appointment-detail": ("/api/appointments/{appointment}", {
        "GET": (401, 403, 403, 200), "PATCH": (401, 403, 403, 200), "DELETE": (401, 403, 403, 204),
    }),
    "appointment-cancel": ("/api/appointments/{appointment}/cancel", {"POST": (401, 403, 403, 200)}),
    "appointment-confirm": ("/api/appointments/{appointment}/confirm", {"POST": (401, 403, 403, ANY)}),
    "appointment-push": ("/api/appointments/{appointment}/push", {"POST": (401, 403, 403, ANY)}),
    "artist-calendar-list": ("/api/admin/calendars", {"GET": (401, 403, 403, 200), "POST": (401, 403, 403, 400)}),
    "artist-calendar-detail": ("/api/admin/calendars/{artist_calendar}", {
        "GET": (401, 403, 403, 200), "PUT": (401, 403, 403, 400), "PATCH": (401, 403, 403, 200),
        "DELETE": (401, 403, 403, 204),
    }),
    "artist-calendar-test": ("/api/admin/calendars/{artist_calendar}/test", {"POST": (401, 403, 403, 200)}),
}
# fmt: on

# The admin is staff business, all of it: whoever is not staff is sent to its login page, for
# every page and every method. What staff then get is the admin's own business (its tests).
ADMIN_METHODS = ("GET", "POST")
ADMIN: dict[str, dict[str, Row]] = {
    "admin:login": {"GET": (200, 200, 200, 302), "POST": (200, 200, 200, ANY)},
    # The admin sends whoever is not staff from its logout page to its index (and so to the login).
    "admin:logout": {method: (302, 302, 302, ANY) for method in ADMIN_METHODS},
    # "<id>/" only redirects to "<id>/change/", for everybody; that page is what is protected.
    "admin/*/<path:object_id>/": {method: (302, 302, 302, 302) for method in ADMIN_METHODS},
    "admin:*": {method: (LOGIN, LOGIN, LOGIN, ANY) for method in ADMIN_METHODS},
}
# Sample values for the admin's path converters (objects need not exist: a non-staff user must be
# turned away before the admin looks).
ADMIN_SAMPLES = {
    "object_id": "1", "id": "1", "run_id": "1", "job_id": "1", "conflict_id": "1", "verb": "pause",
    "resolution": "source",
    "content_type_id": "1", "app_label": "accounts", "url": "no-such-page/",
}  # fmt: skip


# --- the URLconf ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pattern:
    key: str  # "namespace:name", or the route of an unnamed pattern
    route: str
    methods: frozenset[str] | None  # what the view allows, when it can tell; None for function views


def patterns() -> list[Pattern]:
    return list(_walk(get_resolver().url_patterns, "", ""))


def _walk(entries, prefix: str, namespace: str) -> Iterator[Pattern]:
    for entry in entries:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            route = prefix + str(entry.pattern)
            yield Pattern(f"{namespace}{entry.name}" if entry.name else route, route, _allowed(entry.callback))


def _allowed(callback) -> frozenset[str] | None:
    cls = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    if cls is None:
        return None
    offered = {name.upper() for name in cls.http_method_names} - {"OPTIONS", "HEAD"}
    actions = getattr(callback, "actions", None)
    if actions:  # a DRF viewset route: the router's methods the viewset accepts
        return frozenset(name.upper() for name in actions) & offered
    handlers = {name for name in offered if hasattr(cls, name.lower())}
    # A view that dispatches every method itself (the DAV server) offers what it names.
    return frozenset(handlers or offered)


def _admin_row(key: str) -> dict[str, Row]:
    """The exact row, else the first pattern that matches; whatever else the admin serves: "admin:*"."""
    return ADMIN.get(key) or next((rules for rule, rules in ADMIN.items() if fnmatch(key, rule)), ADMIN["admin:*"])


def _is_admin(pattern: Pattern) -> bool:
    return pattern.key.startswith("admin:") or pattern.route.startswith("admin/")


def api_cells() -> list[tuple[str, str, str]]:
    return [(key, method, role) for key, (_path, rows) in MATRIX.items() for method in rows for role in ROLES]


# --- the world -----------------------------------------------------------------------------------


@dataclass
class World:
    users: dict[str, User | None]
    dav_passwords: dict[str, str]
    values: dict[str, object]


@pytest.fixture
def world(settings) -> World:
    settings.CALSYNC_BOOKING_RATE = "100000/hour"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # a world per cell
    owner = User.objects.create_user("olga", password="pw-olga-4711")
    other = User.objects.create_user("oscar", password="pw-oscar-4711")
    staff = User.objects.create_superuser("stella", password="pw-stella-4711")
    dav_passwords = {name: app_password_create(user=user, name="phone")[1] for name, user in
                     (("owner", owner), ("other", other), ("staff", staff))}  # fmt: skip
    # Nothing here is ever reached: port 9 is closed, and olga's account may not reach loopback.
    account = Account.objects.create(owner=owner, name="src", kind="caldav", url="http://127.0.0.1:9/")
    destination = Account.objects.create(owner=owner, name="dst", kind="caldav", url="http://127.0.0.1:9/d/")
    Collection.objects.create(account=account, url="http://127.0.0.1:9/c/", kind="calendar")
    job = SyncJob.objects.create(owner=owner, name="job", source=account, destination=destination)
    run = SyncRun.objects.create(job=job, status=SyncRun.Status.COMPLETED)
    conflict = Conflict.objects.create(job=job, run=run, reason="both changed")
    migration = BulkMigration.objects.create(
        owner=owner, name="org", source_url=account.url, destination_url=destination.url
    )
    MigrationUser.objects.create(
        migration=migration, row=2, source_username="a", destination_username="b", source_account=account,
        destination_account=destination, job=job,
    )  # fmt: skip
    feed = IcsFeed.objects.create(owner=owner, name="private", path="olga-private", account=account, token="t" * 32)
    Calendar.objects.create(owner=owner, slug="work", display_name="Work")
    artist = Artist.objects.create(slug="ink", name="Ink", time_zone="Europe/Berlin", working_hours={})
    artist_calendar = ArtistCalendar.objects.create(artist=artist, account=account, calendar_url=account.url)
    appointment = Appointment.objects.create(
        artist=artist, client_name="Client", client_email="c@example.org",
        start="2030-01-07T10:00:00Z", end="2030-01-07T11:00:00Z",
    )  # fmt: skip
    values = {
        "account": account.pk, "job": job.pk, "run": run.pk, "conflict": conflict.pk, "feed": feed.pk,
        "feed_path": feed.path,
        "owner_name": owner.username, "artist": artist.slug, "appointment": appointment.pk,
        "artist_calendar": artist_calendar.pk, "migration": migration.pk,
    }  # fmt: skip
    return World({"anon": None, "owner": owner, "other": other, "staff": staff}, dav_passwords, values)


def client_for(world: World, role: str, *, dav: bool) -> APIClient:
    client = APIClient()
    user = world.users[role]
    if user is not None and dav:
        token = base64.b64encode(f"{user.username}:{world.dav_passwords[role]}".encode()).decode()
        client.credentials(HTTP_AUTHORIZATION=f"Basic {token}")
    elif user is not None:
        client.force_login(user)
    return client


def matches(expected: Expect | str, status: int, location: str) -> bool:
    if expected == LOGIN:
        return status == 302 and location.startswith("/admin/login/")
    if expected is None:
        return status < 500 and not (status == 302 and location.startswith("/admin/login/"))
    if isinstance(expected, frozenset):
        return status in expected
    return status == expected


# --- the tests -----------------------------------------------------------------------------------


def test_every_url_pattern_and_every_method_it_allows_has_a_rule() -> None:
    missing: list[str] = []
    methods: list[str] = []
    keys = set()
    for pattern in patterns():
        keys.add(pattern.key)
        if _is_admin(pattern):
            continue
        if pattern.key not in MATRIX:
            missing.append(f"{pattern.key} ({pattern.route})")
            continue
        declared = {m for m in MATRIX[pattern.key][1] if m not in ("HEAD", "OPTIONS")}
        if pattern.methods is not None and declared != pattern.methods:
            methods.append(f"{pattern.key}: the view allows {sorted(pattern.methods)}, the table {sorted(declared)}")
    stale = sorted(set(MATRIX) - keys)

    assert not missing, f"URL patterns without a row in MATRIX: {missing}"
    assert not methods, methods
    assert not stale, f"rows for URL patterns that no longer exist: {stale}"


def test_every_path_in_the_table_reaches_its_own_pattern(world: World) -> None:
    for key, (path, _rows) in MATRIX.items():
        match = resolve(path.format(**world.values))
        assert (match.view_name or match.route) == key or match.route == key, (key, path)


@pytest.mark.parametrize(("key", "method", "role"), api_cells())
def test_each_endpoint_answers_each_role_as_the_table_says(world: World, key: str, method: str, role: str) -> None:
    path, rows = MATRIX[key]
    expected = rows[method][ROLES.index(role)]
    client = client_for(world, role, dav=key == "dav")
    data, content_type = ("", "application/xml") if key == "dav" else ("{}", "application/json")
    response = client.generic(method, path.format(**world.values), data=data, content_type=content_type)

    assert matches(expected, response.status_code, response.get("Location", "")), (
        f"{method} {path} as {role}: {response.status_code} (expected {expected}) {response.content[:200]!r}"
    )


def admin_patterns() -> list[Pattern]:
    return [pattern for pattern in patterns() if _is_admin(pattern)]


@pytest.mark.parametrize("pattern", admin_patterns(), ids=lambda pattern: pattern.key)
def test_the_admin_turns_away_everybody_but_staff(world: World, pattern: Pattern) -> None:
    path = "/" + _sample_path(pattern.route)
    rows = _admin_row(pattern.key)
    failures = []
    for method, expectations in rows.items():
        for role, expected in zip(ROLES, expectations, strict=True):
            response = client_for(world, role, dav=False).generic(method, path)
            if not matches(expected, response.status_code, response.get("Location", "")):
                where = response.get("Location", "")
                failures.append(f"{method} {path} as {role}: {response.status_code} {where}, expected {expected}")

    assert not failures, "\n".join(failures)


def _sample_path(route: str) -> str:
    import re

    def converter(match: re.Match[str]) -> str:
        return ADMIN_SAMPLES[match.group("name")]

    path = re.sub(r"<(?:\w+:)?(?P<name>\w+)>", converter, route)
    path = re.sub(r"\(\?P<(?P<name>\w+)>[^)]*\)", converter, path)
    return path.replace("^", "").replace("$", "")
