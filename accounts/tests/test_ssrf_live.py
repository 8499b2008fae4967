"""SSRF attacks on the running application: gunicorn, as `make run` serves it, and a logged-in
user who is not staff, talking HTTP to it like any client.

The gunicorn process records every socket it connects (calsync/testing/connect_audit), so each
test proves that a refused target was never dialled. No traffic leaves loopback: 10.x, 169.254.x
and the like must be refused before any connection. 127.0.0.2 plays a public server (the only
exception the operator names); 127.0.0.1 plays the internal network.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model

from calsync.testing.hostile import SECRET_PAGE, internal_page, recording_server, redirect_to
from calsync.testing.live import LiveApp
from calsync.testing.servers import DavServer, free_port

pytestmark = pytest.mark.django_db(transaction=True)

AUDIT_DIR = Path(__file__).resolve().parents[2] / "calsync" / "testing" / "connect_audit"
PUBLIC = "127.0.0.2"  # what the operator allows, standing in for the internet
PASSWORD = "mallory-has-a-long-password-1"


class Mallory:
    """A registered user who is not staff, using the API with her own credentials."""

    def __init__(self, app: LiveApp) -> None:
        self.app = app
        get_user_model().objects.create_user("mallory", password=PASSWORD)
        self.auth = "Basic " + base64.b64encode(f"mallory:{PASSWORD}".encode()).decode()

    def api(self, method: str, path: str, payload: dict | None = None) -> tuple[int, dict]:
        headers = {"Authorization": self.auth, "Content-Type": "application/json"}
        body = json.dumps(payload) if payload is not None else None
        status, _headers, content = self.app.request(method, path, body=body, headers=headers)
        return status, (json.loads(content) if content.strip() else {})

    def account(self, kind: str, url: str, **extra: str) -> tuple[int, dict]:
        return self.api("POST", "/api/accounts", {"name": f"{kind} {url}"[:100], "kind": kind, "url": url, **extra})

    def test_connection(self, account_id: int) -> dict:
        status, body = self.api("POST", f"/api/accounts/{account_id}/test")
        assert status == 200, body
        return body


@pytest.fixture
def connect_log(tmp_path: Path) -> Path:
    return tmp_path / "connects.log"


@pytest.fixture
def app(start_live_app, connect_log: Path) -> LiveApp:
    return start_live_app(
        env={
            "PYTHONPATH": os.pathsep.join(filter(None, [str(AUDIT_DIR), os.environ.get("PYTHONPATH")])),
            "CALSYNC_TEST_CONNECT_LOG": str(connect_log),
            "CALSYNC_ALLOWED_PRIVATE_NETWORKS": PUBLIC,
            "CALSYNC_HTTP_RETRIES": "0",
            "CALSYNC_HTTP_TIMEOUT": "5",
        }
    )


@pytest.fixture
def mallory(app: LiveApp) -> Mallory:
    return Mallory(app)


def dialled(connect_log: Path) -> list[tuple[str, int]]:
    if not connect_log.exists():
        return []
    return [(host, int(port)) for host, port in (line.split() for line in connect_log.read_text().splitlines())]


def assert_never_dialled(connect_log: Path, *ports: int) -> None:
    """Nothing left loopback, and none of ``ports`` (the refused targets) was connected to."""
    seen = dialled(connect_log)
    assert all(host.startswith("127.") or host == "::1" for host, _port in seen), seen
    assert not [(host, port) for host, port in seen if port in ports], seen


def port_of(server: DavServer) -> int:
    return urlsplit(server.url).port or 80


# --- creating accounts that point inside ---------------------------------------------------------

ATTACKS = [
    # (kind, URL template, what the answer must name)
    ("caldav", "http://127.0.0.1:{open}/", "loopback"),
    ("caldav", "http://127.0.0.1:{closed}/", "loopback"),
    ("caldav", "http://localhost:{open}/", "loopback"),
    ("caldav", "http://[::1]:{open}/", "loopback"),
    ("caldav", "http://[::ffff:127.0.0.1]:{open}/", "loopback"),
    ("ics", "http://0.0.0.0:{open}/feed.ics", "unspecified"),
    ("ics", "http://10.0.0.1/calendar.ics", "private network"),
    ("ics", "webcal://192.168.1.1/calendar.ics", "private network"),
    ("caldav", "https://[fd00::1]/dav/", "private network"),
    ("ics", "http://100.64.0.1/calendar.ics", "private network"),
    ("ics", "http://169.254.169.254/latest/meta-data/iam/security-credentials/", "cloud metadata"),
    ("ics", "http://[fe80::1]/", "link-local"),
    ("ics", "file:///etc/passwd", "valid URL"),
    ("ics", "gopher://127.0.0.1:6379/_INFO", "valid URL"),
    ("caldav", "ftp://example.org/", "valid URL"),
]


def test_accounts_pointing_inside_are_refused_with_a_clear_400(
    mallory: Mallory, radicale: DavServer, connect_log: Path
) -> None:
    """One gunicorn for the whole table: each row is an attack, each must be refused by name."""
    closed = free_port()
    wrong = []
    for kind, template, named in ATTACKS:
        url = template.format(open=port_of(radicale), closed=closed)
        status, body = mallory.account(kind, url)
        if status != 400 or named not in body.get("url", [""])[0]:
            wrong.append((url, status, body))
    status, body = mallory.account("ics", "https://calendar.example.org/feed.ics")
    assert status == 201, body
    status, changed = mallory.api("PATCH", f"/api/accounts/{body['id']}", {"url": "http://10.1.2.3/feed.ics"})

    assert not wrong, wrong
    assert status == 400 and "private network" in changed["url"][0]
    assert_never_dialled(connect_log, port_of(radicale), closed)


# --- redirects ----------------------------------------------------------------------------------


def test_a_redirect_to_the_inside_is_refused_and_open_and_closed_ports_look_alike(
    mallory: Mallory, connect_log: Path
) -> None:
    closed = free_port()
    answers = {}
    with recording_server(internal_page) as internal:
        for port in (internal.port, closed):
            with recording_server(redirect_to(f"http://127.0.0.1:{port}/admin"), host=PUBLIC) as public:
                status, body = mallory.account("ics", f"{public.url}feed.ics")
                assert status == 201, body
                result = mallory.test_connection(body["id"])
            assert len(public.seen) == 1
            answers[port] = (result["ok"], result["message"].replace(str(port), "PORT").replace(str(public.port), "P"))

    assert answers[internal.port] == answers[closed]
    assert answers[closed][0] is False
    assert "Refusing to connect to 127.0.0.1: it is a loopback address" in answers[closed][1]
    assert SECRET_PAGE.decode().strip() not in json.dumps(answers)
    assert internal.seen == []
    assert_never_dialled(connect_log, internal.port, closed)


def test_credentials_never_follow_a_redirect_to_another_origin(mallory: Mallory) -> None:
    asks_for_login = lambda method, path, headers: (401, {"WWW-Authenticate": 'Basic realm="x"'}, b"")  # noqa: E731
    with (
        recording_server(asks_for_login, host=PUBLIC) as other,
        recording_server(redirect_to(f"{other.url}dav/"), host=PUBLIC) as first,
    ):
        status, body = mallory.account("caldav", first.url, username="mallory", password="stored-Secret-42")
        assert status == 201, body
        result = mallory.test_connection(body["id"])

    assert first.seen and all(seen[2].get("authorization", "").startswith("Basic ") for seen in first.seen)
    assert other.seen and all("authorization" not in seen[2] for seen in other.seen)
    assert result["ok"] is False and f"use the URL {other.url}dav/" in result["message"]


# --- what answers say ---------------------------------------------------------------------------


def test_a_connection_test_names_the_kind_of_answer_and_never_quotes_it(mallory: Mallory) -> None:
    texts = []
    with recording_server(internal_page, host=PUBLIC) as server:
        for kind in ("caldav", "ics"):
            status, body = mallory.account(kind, f"{server.url}calendar")
            assert status == 201, body
            result = mallory.test_connection(body["id"])
            assert result["ok"] is False and "text/plain" in result["message"], result
            texts += [json.dumps(result), json.dumps(mallory.api("GET", f"/api/accounts/{body['id']}")[1])]

    assert not [text for text in texts if "hunter2" in text or "INTERNAL-ONLY" in text]


# --- booking back office ------------------------------------------------------------------------


def test_a_user_who_is_not_staff_cannot_attach_a_calendar_to_an_artist_or_see_the_workers(mallory: Mallory) -> None:
    from booking.models import Artist

    artist = Artist.objects.create(slug="ink", name="Ink", time_zone="Europe/Berlin", working_hours={})
    status, account = mallory.account("caldav", "https://dav.example.org/")
    assert status == 201, account

    attached = mallory.api(
        "POST",
        "/api/admin/calendars",
        {"artist": artist.pk, "account": account["id"], "calendar_url": "https://dav.example.org/cal/"},
    )

    assert attached[0] == 403 and not artist.calendars.exists()
    assert mallory.api("GET", "/api/worker/status")[0] == 403
