"""The booking limit against the running application behind a (simulated) reverse proxy.

All traffic comes from 127.0.0.1; with 127.0.0.1 a trusted proxy, ``X-Forwarded-For`` names
the visitor, as nginx or Caddy in front of calsync would.
"""

from __future__ import annotations

import json
import uuid

from booking.tests.conftest import make_artist, next_week

PROXY = {
    "CALSYNC_TRUSTED_PROXIES": "127.0.0.1",
    "CALSYNC_BOOKING_RATE": "2/hour",
    "CALSYNC_BOOKING_EMAIL_RATE": "100/hour",
}


def visitor() -> str:
    return f"198.51.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"


def book(app, artist, slot: int, *, forwarded_for: str, email: str | None = None) -> int:
    start = next_week(slot % 24, day=slot // 24)
    payload = {
        "artist": artist.slug, "client_name": "Ada", "client_email": email or f"{uuid.uuid4().hex[:8]}@example.org",
        "start": start.isoformat(), "duration": 30,
    }  # fmt: skip
    headers = {"Content-Type": "application/json", "X-Forwarded-For": forwarded_for}
    return app.request("POST", "/api/appointments", body=json.dumps(payload), headers=headers)[0]


def test_behind_a_trusted_proxy_each_visitor_has_a_bucket_of_their_own(start_live_app):
    app = start_live_app(env=PROXY)
    artist = make_artist()
    first, second = visitor(), visitor()

    first_codes = [book(app, artist, slot, forwarded_for=first) for slot in range(3)]
    second_codes = [book(app, artist, slot, forwarded_for=second) for slot in range(3, 5)]

    assert first_codes == [201, 201, 429]
    assert second_codes == [201, 201]  # not one shared bucket for everyone behind the proxy


def test_a_visitor_cannot_forge_their_way_past_the_limit_through_the_proxy(start_live_app):
    app = start_live_app(env=PROXY)
    artist = make_artist()
    real = visitor()

    # What the proxy forwards when the client sent its own "X-Forwarded-For: <made up>".
    codes = [book(app, artist, slot, forwarded_for=f"{visitor()}, {real}") for slot in range(3)]

    assert codes == [201, 201, 429]


def test_without_trusted_proxies_x_forwarded_for_is_ignored(start_live_app):
    app = start_live_app(env={"CALSYNC_BOOKING_RATE": "2/hour", "CALSYNC_BOOKING_EMAIL_RATE": "100/hour"})
    artist = make_artist()
    # The limit bucket is 127.0.0.1's; earlier tests' requests may share it, so count ours only.
    codes = [book(app, artist, slot, forwarded_for=visitor()) for slot in range(3)]

    assert codes[-1] == 429


def test_one_e_mail_address_is_limited_whatever_address_it_comes_from(start_live_app):
    app = start_live_app(env={**PROXY, "CALSYNC_BOOKING_RATE": "100/hour", "CALSYNC_BOOKING_EMAIL_RATE": "2/hour"})
    artist = make_artist()
    email = f"{uuid.uuid4().hex[:8]}@example.org"

    codes = [book(app, artist, slot, forwarded_for=visitor(), email=email) for slot in range(3)]
    other_email = book(app, artist, 3, forwarded_for=visitor())
    same_email_other_case = book(app, artist, 4, forwarded_for=visitor(), email=email.upper())

    assert codes == [201, 201, 429]
    assert other_email == 201
    assert same_email_other_case == 429
