"""The live application fixture serves calsync as production does: CSRF and the WSGI server apply."""

from __future__ import annotations

import re

from django.contrib.auth import get_user_model


def test_it_serves_health_and_the_admin_login_through_gunicorn(live_app):
    status, headers, body = live_app.request("GET", "/admin/login/")

    assert status == 200
    assert "csrftoken" in headers.get("set-cookie", "")
    assert b"csrfmiddlewaretoken" in body


def test_a_login_post_without_the_csrf_token_is_refused_as_in_production(live_app):
    get_user_model().objects.create_user("eve", password="guess-me-not", is_staff=True)

    status, _headers, _body = live_app.request(
        "POST",
        "/admin/login/",
        body="username=eve&password=guess-me-not",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert status == 403


def test_it_sees_rows_the_test_commits(live_app):
    get_user_model().objects.create_user("staffer", password="a-long-password-1", is_staff=True)
    status, headers, body = live_app.request("GET", "/admin/login/")
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1).decode()
    cookie = headers["set-cookie"].split(";", 1)[0]

    status, headers, _body = live_app.request(
        "POST",
        "/admin/login/",
        body=f"username=staffer&password=a-long-password-1&csrfmiddlewaretoken={token}&next=/admin/",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie, "Referer": live_app.url},
    )

    assert status == 302
    assert headers["location"] == "/admin/"
