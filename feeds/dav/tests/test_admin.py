"""Admin: an app password is shown once on creation, works at once, and revoking it signs the device out."""

from __future__ import annotations

import re

from django.contrib.auth.models import User

from feeds.dav.models import AppPassword, Calendar
from feeds.dav.tests.conftest import DavClient
from feeds.dav.tests.test_protocol import props_of


def test_adding_an_app_password_shows_it_once_and_it_works(admin_client, db):
    anna = User.objects.create_user("anna")
    response = admin_client.post("/admin/dav/apppassword/add/", {"user": anna.pk, "name": "Anna's phone"}, follow=True)
    assert response.status_code == 200
    message = next(str(m) for m in response.context["messages"])
    password = re.search(r"\): (\S+) — copy it now", message).group(1)
    row = AppPassword.objects.get(user=anna)
    assert password not in row.password_hash and row.lookup == password.split("-")[0]
    assert sorted(Calendar.objects.filter(owner=anna).values_list("slug", flat=True)) == ["calendar", "tasks"]
    device = DavClient(admin_client.__class__(), "anna", password)
    assert device.propfind("/dav/").status_code == 207
    # The change page never shows it again.
    assert password not in admin_client.get(f"/admin/dav/apppassword/{row.pk}/change/").content.decode()

    admin_client.post("/admin/dav/apppassword/", {"action": "revoke", "_selected_action": [row.pk]})
    assert device.propfind("/dav/").status_code == 401


def test_dead_properties_round_trip(alice: DavClient):
    body = """<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:X="http://example.org/ns/">
    <D:set><D:prop><X:sort-key>7</X:sort-key></D:prop></D:set></D:propertyupdate>"""
    assert alice.request("PROPPATCH", alice.home + "calendar/", body).status_code == 207
    read = alice.propfind(
        alice.home + "calendar/",
        '<propfind xmlns="DAV:" xmlns:X="http://example.org/ns/"><prop><X:sort-key/></prop></propfind>',
    )
    assert props_of(read)[alice.home + "calendar/"]["{http://example.org/ns/}sort-key"].text == "7"
