"""What a stranger can send to the public endpoints of the live application, and what they get.

Every attack goes over HTTP to gunicorn (the production settings: DEBUG off, CSRF on); each must
be answered with a 4xx and a message that says what is wrong, never a 500.
"""

from __future__ import annotations

import json

import pytest

from booking.models import Appointment
from booking.tests.conftest import make_artist

BOOKING = {"client_name": "Eve", "client_email": "eve@example.org", "duration": 60}
DEEP_JSON = "[" * 100_000 + "]" * 100_000


@pytest.fixture
def app(start_live_app):
    make_artist(slug="ada")
    return start_live_app(env={"CALSYNC_BOOKING_RATE": "100000/hour", "CALSYNC_BOOKING_EMAIL_RATE": "100000/hour"})


def answer(app, method: str, path: str, body: bytes | str | None = None, content_type: str = "application/json"):
    status, headers, data = app.request(method, path, body=body, headers={"Content-Type": content_type})
    text = data.decode(errors="replace")
    return status, json.loads(text) if headers.get("content-type", "").startswith("application/json") else text


AVAILABILITY = "/api/availability?artist={artist}&start={start}&end={end}"


AVAILABILITY_ATTACKS = [
    ({"artist": "ada", "start": "0001-01-01T00:00", "end": "0001-01-01T01:00"}, "between 1970 and 2199"),
    ({"artist": "ada", "start": "9999-12-31T23:00", "end": "9999-12-31T23:59"}, "between 1970 and 2199"),
    ({"artist": "ada", "start": "0001-01-01T00:00%2B14:00", "end": "0001-01-01T01:00%2B14:00"}, "1970"),
    ({"artist": "ada", "start": "9999-12-31T23:00-12:00", "end": "9999-12-31T23:30-12:00"}, "1970"),
    ({"artist": "9" * 40, "start": "2031-01-06T10:00", "end": "2031-01-06T11:00"}, "No active artist"),
    ({"artist": "%C2%B2", "start": "2031-01-06T10:00", "end": "2031-01-06T11:00"}, "No active artist"),
    ({"artist": "ada%00", "start": "2031-01-06T10:00", "end": "2031-01-06T11:00"}, "NUL"),
    ({"artist": "ada", "start": "2031-13-45T99:00", "end": "2031-01-06T11:00"}, "not an ISO 8601"),
]


def test_availability_answers_impossible_dates_and_ids_with_a_400(app):
    answers = [answer(app, "GET", AVAILABILITY.format(**query)) for query, _ in AVAILABILITY_ATTACKS]

    assert [status for status, _ in answers] == [400] * len(AVAILABILITY_ATTACKS)
    for (_query, expected), (_status, body) in zip(AVAILABILITY_ATTACKS, answers, strict=True):
        assert expected in json.dumps(body)


SLOTS_ATTACKS = [
    ("/api/artists/ada/slots?date=0001-01-01&duration=60", 400, "between 1970 and 2199"),
    ("/api/artists/ada/slots?date=9999-12-31&duration=60", 400, "between 1970 and 2199"),
    ("/api/artists/ada/slots?date=2031-01-06&duration=99999999999999999999", 400, "duration"),
    (f"/api/artists/{'9' * 40}/slots?date=2031-01-06&duration=60", 404, "No such artist"),
    ("/api/artists/%C2%B2/slots?date=2031-01-06&duration=60", 404, "No such artist"),
]


def test_slots_answer_impossible_dates_and_ids_with_a_4xx(app):
    answers = [answer(app, "GET", path) for path, _, _ in SLOTS_ATTACKS]

    assert [status for status, _ in answers] == [status for _, status, _ in SLOTS_ATTACKS]
    for (_path, _status, expected), (_got, body) in zip(SLOTS_ATTACKS, answers, strict=True):
        assert expected in json.dumps(body)


BOOKING_ATTACKS = [
    ({"artist": "ada", "start": "0001-01-01T00:00"}, "between 1970 and 2199"),
    ({"artist": "ada", "start": "9999-12-31T23:30"}, "between 1970 and 2199"),
    ({"artist": "ada", "start": "2031-01-06T10:00", "end": "9999-12-31T23:59:59"}, "between 1970 and 2199"),
    ({"artist": "9" * 40, "start": "2031-01-06T10:00"}, "No active artist"),
    ({"artist": "ada", "start": "2031-01-06T10:00", "duration": 10**30}, "duration"),
    ({"artist": "ada\x00", "start": "2031-01-06T10:00"}, "Null characters"),
]


def test_a_booking_with_impossible_dates_or_ids_is_a_400(app):
    answers = [
        answer(app, "POST", "/api/appointments", json.dumps({**BOOKING, **fields})) for fields, _ in BOOKING_ATTACKS
    ]

    assert [status for status, _ in answers] == [400] * len(BOOKING_ATTACKS)
    for (_fields, expected), (_status, body) in zip(BOOKING_ATTACKS, answers, strict=True):
        assert expected in json.dumps(body)
    assert not Appointment.objects.exists()


BODY_ATTACKS = [
    ("{not json", "application/json", 400, "JSON parse error"),
    (DEEP_JSON, "application/json", 400, "nested too deeply"),
    (b"\xff\xfe{}", "application/json", 400, "JSON parse error"),
    ("[1, 2]", "application/json", 400, "Expected a dictionary"),
    ("null", "application/json", 400, "No data provided"),
    ("artist=ada", "text/plain", 415, "Unsupported media type"),
    ("<booking/>", "application/xml", 415, "Unsupported media type"),
    ("garbage", "multipart/form-data; boundary=x", 400, ""),
    ("artist=ada&start=0001-01-01T00:00", "application/x-www-form-urlencoded", 400, "required"),
]


def test_a_booking_body_that_is_not_a_booking_is_a_4xx(app):
    answers = [answer(app, "POST", "/api/appointments", body, kind) for body, kind, _, _ in BODY_ATTACKS]

    assert [status for status, _ in answers] == [status for _, _, status, _ in BODY_ATTACKS]
    for (*_, expected), (_status, body) in zip(BODY_ATTACKS, answers, strict=True):
        assert expected in json.dumps(body)


OTHER_ATTACKS = [
    ("GET", "/api/appointments/99999999999999999999999999", 401),  # staff only: asked to log in first
    ("GET", "/api/appointments/abc", 404),
    ("POST", "/api/webhooks/zammad/x%00y/", 400),
    ("POST", f"/api/webhooks/zammad/{'z' * 1000}/", 404),
    ("GET", "/ics/feed%00.ics", 400),
    ("GET", "/ics/feed.ics?token=%00", 400),
    ("GET", "/api/artists?page=%00", 400),
    ("PUT", "/api/availability", 405),
    ("DELETE", "/api/artists", 405),
]


def test_other_public_endpoints_answer_garbage_with_a_4xx(app):
    answers = {(method, path): answer(app, method, path, b"{}")[0] for method, path, _ in OTHER_ATTACKS}

    assert answers == {(method, path): status for method, path, status in OTHER_ATTACKS}
