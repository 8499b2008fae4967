"""The admin reads as calsync's console: branded, grouped by what people do, internals out of the way."""

from __future__ import annotations

import re

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.utils.text import capfirst

pytestmark = pytest.mark.django_db


def _sections(html: str) -> dict[str, list[str]]:
    """Section title -> model names, read from the index page as a person sees it."""
    sections: dict[str, list[str]] = {}
    for block in re.findall(r'<div class="app-\w+ module.*?</table>', html, flags=re.S):
        title = re.search(r'class="section"[^>]*>([^<]+)</a>', block).group(1).replace("&amp;", "&")
        sections[title] = re.findall(r'<th scope="row" id="[^"]+">\s*<a href="[^"]+">([^<]+)</a>', block)
    return sections


def test_it_groups_the_index_by_what_people_do(admin_client):
    html = admin_client.get("/admin/").content.decode()

    sections = _sections(html)
    assert list(sections) == ["Migrate & sync", "ICS feeds", "Booking", "CalDAV server", "Time sheets", "System"]
    assert sections["Migrate & sync"][:4] == ["Sync jobs", "Sync runs", "Owed items", "Conflicts"]
    assert "ICS feeds" in sections["ICS feeds"]
    assert sections["Booking"][0] == "Appointments"
    assert "Periodic tasks" in sections["System"]
    assert {"Groups", "Auth tokens", "Access attempts"} <= set(sections["System"])


def test_it_shows_every_registered_model_exactly_once(admin_client):
    html = admin_client.get("/admin/").content.decode()

    shown = [name for names in _sections(html).values() for name in names]
    registered = [capfirst(model._meta.verbose_name_plural) for model in admin.site._registry]
    assert sorted(shown) == sorted(registered)


def test_it_keeps_solar_and_clocked_schedules_out(admin_client):
    html = admin_client.get("/admin/").content.decode()

    assert "Solar events" not in html and "Clocked" not in html
    assert admin_client.get("/admin/django_celery_beat/solarschedule/").status_code == 404
    assert admin_client.get("/admin/django_celery_beat/periodictask/add/").status_code == 200


def test_it_is_branded_calsync_and_view_site_opens_the_dashboard(admin_client):
    html = admin_client.get("/admin/").content.decode()

    assert "Django administration" not in html
    assert re.search(r'<div id="site-name"><a href="/admin/">.*?</svg>calsync</a></div>', html, flags=re.S)
    assert "<title>Console | calsync</title>" in html
    assert '<a href="/">View site</a>' in html


def test_an_apps_own_page_still_lists_its_models(admin_client):
    response = admin_client.get("/admin/booking/")

    assert response.status_code == 200
    assert "Appointments" in response.content.decode()


def test_a_user_who_may_see_only_appointments_sees_only_booking():
    from django.contrib.auth.models import Permission
    from django.test import Client

    clerk = User.objects.create_user("clerk", password="pw", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_appointment"))
    client = Client()
    client.force_login(clerk)

    assert _sections(client.get("/admin/").content.decode()) == {"Booking": ["Appointments"]}
