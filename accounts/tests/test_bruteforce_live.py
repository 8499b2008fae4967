"""Password guessing against the running application: admin login, API Basic auth, CalDAV Basic.

Everything talks to gunicorn over real HTTP. All traffic comes from 127.0.0.1, so distinct
clients are simulated the way a reverse proxy presents them: 127.0.0.1 is a trusted proxy and
``X-Forwarded-For`` names the client.
"""

from __future__ import annotations

import base64
import http.client
import re
import uuid

from django.contrib.auth import get_user_model

from feeds.dav.auth import new_app_password

LIMIT = 3
ATTACKER = "203.0.113.66"
REAL_USER = "198.51.100.20"
BEHIND_PROXY = {"CALSYNC_TRUSTED_PROXIES": "127.0.0.1", "CALSYNC_LOGIN_FAILURE_LIMIT": str(LIMIT)}


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


def basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def admin_login(app, username: str, password: str, *, address: str) -> tuple[int, dict[str, str], bytes]:
    """A browser's admin login: fetch the form for its CSRF token and cookie, then post it."""
    status, headers, body = app.request("GET", "/admin/login/", headers={"X-Forwarded-For": address})
    assert status == 200
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1).decode()
    cookie = headers["set-cookie"].split(";", 1)[0]
    form = f"username={username}&password={password}&csrfmiddlewaretoken={token}&next=/admin/"
    return app.request(
        "POST",
        "/admin/login/",
        body=form,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": cookie,
            "Referer": app.url,
            "X-Forwarded-For": address,
        },
    )


def admin_session(app, username: str, password: str, *, address: str) -> str:
    """The session cookie of a staff login (LiveApp.request keeps only the last Set-Cookie)."""
    _status, headers, body = app.request("GET", "/admin/login/", headers={"X-Forwarded-For": address})
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1).decode()
    connection = http.client.HTTPConnection("127.0.0.1", app.port, timeout=30)
    try:
        connection.request(
            "POST",
            "/admin/login/",
            body=f"username={username}&password={password}&csrfmiddlewaretoken={token}&next=/admin/",
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Cookie": headers["set-cookie"].split(";", 1)[0],
                "Referer": app.url,
                "X-Forwarded-For": address,
            },
        )
        response = connection.getresponse()
        response.read()
        assert response.status == 302
        cookies = [value.split(";", 1)[0] for value in response.msg.get_all("Set-Cookie")]
    finally:
        connection.close()
    return next(cookie for cookie in cookies if cookie.startswith("sessionid="))


def test_admin_password_guessing_is_locked_out_while_the_real_user_still_signs_in(start_live_app):
    app = start_live_app(env=BEHIND_PROXY)
    name = unique("ada")
    get_user_model().objects.create_user(name, password="the-real-password-1", is_staff=True)

    guesses = [admin_login(app, name, f"guess-{n}", address=ATTACKER)[0] for n in range(LIMIT)]
    locked_status, locked_headers, locked_body = admin_login(app, name, "the-real-password-1", address=ATTACKER)
    real_status, real_headers, _ = admin_login(app, name, "the-real-password-1", address=REAL_USER)

    # The form again ("Please enter the correct username and password"), then the lock-out page.
    assert guesses == [200] * (LIMIT - 1) + [429]
    assert locked_status == 429
    assert b"Too many failed sign-ins" in locked_body
    assert int(locked_headers["retry-after"]) > 0
    assert real_status == 302
    assert real_headers["location"] == "/admin/"


def test_api_basic_auth_guessing_gets_429_with_retry_after_while_the_real_user_gets_in(start_live_app):
    app = start_live_app(env=BEHIND_PROXY)
    name = unique("bob")
    get_user_model().objects.create_user(name, password="the-real-password-2")

    def get(password: str, address: str) -> tuple[int, dict[str, str], bytes]:
        return app.request(
            "GET", "/api/accounts", headers={"Authorization": basic(name, password), "X-Forwarded-For": address}
        )

    guesses = [get(f"guess-{n}", ATTACKER)[0] for n in range(LIMIT)]
    locked_status, locked_headers, locked_body = get("the-real-password-2", ATTACKER)
    real_status, _, _ = get("the-real-password-2", REAL_USER)

    assert guesses == [401] * (LIMIT - 1) + [429]
    assert locked_status == 429
    assert 0 < int(locked_headers["retry-after"]) <= 15 * 60
    assert b"Too many failed sign-ins" in locked_body
    assert real_status == 200


def test_caldav_basic_auth_guessing_gets_429_with_retry_after_while_the_phone_keeps_syncing(start_live_app):
    app = start_live_app(env=BEHIND_PROXY)
    user = get_user_model().objects.create_user(unique("cal"))
    _row, app_password = new_app_password(user=user, name="phone")
    wrong = app_password[:-1] + ("a" if app_password[-1] != "a" else "b")

    def propfind(password: str, address: str) -> tuple[int, dict[str, str], bytes]:
        headers = {"Authorization": basic(user.username, password), "X-Forwarded-For": address, "Depth": "0"}
        return app.request("PROPFIND", "/dav/", headers=headers)

    guesses = [propfind(wrong, ATTACKER)[0] for _ in range(LIMIT)]
    locked_status, locked_headers, _ = propfind(app_password, ATTACKER)
    phone_status, _, _ = propfind(app_password, REAL_USER)

    assert guesses == [401] * (LIMIT - 1) + [429]
    assert locked_status == 429
    assert int(locked_headers["retry-after"]) > 0
    assert "calendar-access" in locked_headers["dav"]
    assert phone_status == 207


def test_guessing_across_user_names_from_one_address_locks_the_address(start_live_app):
    app = start_live_app(env=BEHIND_PROXY)
    names = [unique("spray") for _ in range(LIMIT + 1)]
    for name in names:
        get_user_model().objects.create_user(name, password="sprayed-password-3")

    codes = [
        app.request(
            "GET", "/api/accounts", headers={"Authorization": basic(name, "Summer2026!"), "X-Forwarded-For": ATTACKER}
        )[0]
        for name in names
    ]

    assert codes == [401] * (LIMIT - 1) + [429, 429]


def test_a_forged_x_forwarded_for_from_an_untrusted_peer_buys_no_fresh_attempts(start_live_app):
    app = start_live_app(env={"CALSYNC_LOGIN_FAILURE_LIMIT": str(LIMIT)})  # no trusted proxies
    name = unique("eve")
    get_user_model().objects.create_user(name, password="the-real-password-4")

    codes = [
        app.request(
            "GET",
            "/api/accounts",
            headers={"Authorization": basic(name, f"guess-{n}"), "X-Forwarded-For": f"192.0.2.{n + 1}"},
        )[0]
        for n in range(LIMIT + 1)
    ]

    assert codes == [401] * (LIMIT - 1) + [429, 429]


def test_a_user_name_guessed_from_many_addresses_is_refused_to_new_addresses_but_not_to_the_users_own(
    start_live_app,
):
    # A year-long cool-off: the count is kept per cool-off window, and no window may end mid-test.
    app = start_live_app(
        env={**BEHIND_PROXY, "CALSYNC_LOGIN_USERNAME_FAILURE_LIMIT": "4", "CALSYNC_LOGIN_COOLOFF_MINUTES": "525600"}
    )
    name = unique("dora")
    get_user_model().objects.create_user(name, password="the-real-password-5")

    def get(password: str, address: str) -> int:
        headers = {"Authorization": basic(name, password), "X-Forwarded-For": address}
        return app.request("GET", "/api/accounts", headers=headers)[0]

    assert get("the-real-password-5", REAL_USER) == 200  # the user's own laptop, seen before
    botnet = [get("guess", f"192.0.2.{n}") for n in range(1, 5)]  # one guess each: under every per-address limit
    next_bot = get("guess", "192.0.2.99")
    correct_from_a_new_address = get("the-real-password-5", "192.0.2.100")

    assert botnet == [401] * 4
    assert next_bot == 429
    assert correct_from_a_new_address == 429
    assert get("the-real-password-5", REAL_USER) == 200


def test_staff_lift_a_lock_out_in_the_admin(start_live_app):
    app = start_live_app(env=BEHIND_PROXY)
    victim = unique("fay")
    get_user_model().objects.create_user(victim, password="the-real-password-6")
    get_user_model().objects.create_superuser(unique("root"), password="admin-password-6")
    admin_name = get_user_model().objects.filter(is_superuser=True).latest("pk").username
    for n in range(LIMIT):
        app.request(
            "GET", "/api/accounts", headers={"Authorization": basic(victim, f"x{n}"), "X-Forwarded-For": ATTACKER}
        )
    headers = {"Authorization": basic(victim, "the-real-password-6"), "X-Forwarded-For": ATTACKER}
    assert app.request("GET", "/api/accounts", headers=headers)[0] == 429

    session = admin_session(app, admin_name, "admin-password-6", address=REAL_USER)
    status, listing_headers, listing = app.request(
        "GET", "/admin/axes/accessattempt/", headers={"Cookie": session, "X-Forwarded-For": REAL_USER}
    )
    assert status == 200
    assert ATTACKER.encode() in listing and victim.encode() in listing
    ids = re.findall(rb'name="_selected_action" value="(\d+)"', listing)
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', listing).group(1).decode()
    csrf_cookie = listing_headers["set-cookie"].split(";", 1)[0]
    selected = "&".join(f"_selected_action={pk.decode()}" for pk in ids)
    status, _, _ = app.request(
        "POST",
        "/admin/axes/accessattempt/",
        body=f"csrfmiddlewaretoken={token}&action=delete_selected&{selected}&post=yes",
        headers={
            "Cookie": f"{session}; {csrf_cookie}",
            "X-Forwarded-For": REAL_USER,
            "Content-Type": "application/x-www-form-urlencoded",
            "Referer": app.url,
        },
    )

    assert status == 302
    assert app.request("GET", "/api/accounts", headers=headers)[0] == 200
