"""A sync job reads contacts in the vCard version its destination keeps: 4.0 from Cyrus only where
"Test connection" found the destination keeping vCard 4 as written (Xandikos), Cyrus's own 3.0
elsewhere (Radicale, which cuts a vCard 4 ``data:`` PHOTO at its comma)."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth.models import User

from accounts.services import account_check
from accounts.tests.test_vcard_versions import PNG, lines_of, vcard3_with_photo, vcard4
from jobs.tests.test_sync_dav import contents, fill, job_for, run_job

pytestmark = [pytest.mark.django_db, pytest.mark.realservers]


@pytest.fixture
def owner(db) -> User:
    return User.objects.create_user("owner")


def migrate_contact(owner: User, cyrus, destination, data: bytes) -> bytes:
    """One contact from a Cyrus address book to ``destination`` by a copy job whose accounts were
    tested (and so probed); the bytes the destination stores."""
    name = f"People {uuid.uuid4().hex[:6]}"
    book = fill(cyrus, "carddav", name, [data])
    job = job_for(owner, cyrus, destination, book, sync_calendars=False)
    assert account_check(account=job.source).ok and account_check(account=job.destination).ok

    run = run_job(job)

    assert run.status == "completed", run.error
    [landed] = contents(destination, "carddav", name).values()
    return landed


def test_a_vcard_3_photo_from_cyrus_survives_a_migration_to_radicale(owner, cyrus, radicale):
    uid = f"ada-{uuid.uuid4().hex}"

    landed = migrate_contact(owner, cyrus, radicale, vcard3_with_photo(uid))

    assert b"VERSION:3.0" in landed
    assert PNG.encode() in landed.replace(b"\r\n ", b""), landed


def test_a_vcard_4_from_cyrus_stays_4_on_a_destination_that_keeps_it(owner, cyrus, xandikos):
    uid = f"ada-{uuid.uuid4().hex}"

    landed = migrate_contact(owner, cyrus, xandikos, vcard4(uid))

    assert "VERSION:4.0" in lines_of(landed)
    assert {"FN:Ada Lovelace", "NOTE:Analytical engine", "EMAIL;TYPE=work:ada@example.org"} <= lines_of(landed)
