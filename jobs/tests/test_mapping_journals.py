"""A "<name> (journal)" calendar only for a source that holds journals, against real servers."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth.models import User

from accounts.connectors.base import ItemRejected
from calsync.testing import samples
from jobs.engines import dav
from jobs.tests.test_sync_dav import connector, contents, fill, job_for, run_job

pytestmark = pytest.mark.django_db

EVENTS_AND_TASKS = ("VEVENT", "VTODO")


@pytest.fixture
def owner(db) -> User:
    return User.objects.create_user("owner")


def names_on(server, prefix: str) -> set[str]:
    return {c.name for c in connector(server).list_collections() if c.name.startswith(prefix)}


@pytest.mark.parametrize(("source_name", "dest_name"), [("radicale", "xandikos"), ("xandikos", "radicale")])
def test_no_journal_calendar_is_made_for_a_source_that_holds_no_journals(owner, request, source_name, dest_name):
    source_server, dest_server = request.getfixturevalue(source_name), request.getfixturevalue(dest_name)
    name = f"Work {uuid.uuid4().hex[:6]}"
    # The source allows journals (and says so) but holds only events and a task.
    source = fill(source_server, "caldav", name, [samples.timed_event(1), samples.timed_event(2), samples.task(3)])
    fill(dest_server, "caldav", name, [], components=EVENTS_AND_TASKS)
    job = job_for(owner, source_server, dest_server, source, name="no journals", sync_contacts=False)

    run = run_job(job)

    assert (run.status, run.created, run.errors) == ("completed", 3, 0), run.error
    assert names_on(dest_server, name) == {name}


def test_a_source_with_journals_gets_its_journal_calendar_and_they_land(owner, radicale, xandikos):
    name = f"Diary {uuid.uuid4().hex[:6]}"
    source = fill(radicale, "caldav", name, [samples.timed_event(1), samples.journal(1), samples.journal(2)])
    fill(xandikos, "caldav", name, [], components=EVENTS_AND_TASKS)
    job = job_for(owner, radicale, xandikos, source, name="journals", sync_contacts=False)

    run = run_job(job)

    assert (run.status, run.created, run.errors) == ("completed", 3, 0), run.error
    assert names_on(xandikos, name) == {name, f"{name} (journal)"}
    assert set(contents(xandikos, "caldav", f"{name} (journal)")) == {
        "journal-1@calsync.test",
        "journal-2@calsync.test",
    }


class RefusesJournalCalendars:
    """The destination as a server without journals answers: it refuses a calendar for them with
    the 403 supported-calendar-component Xandikos gives a journal in an events-only calendar."""

    def __init__(self, connector) -> None:
        self.connector = connector

    def create_collection(self, *, components: tuple[str, ...] = (), **options):
        if "VJOURNAL" in components:
            raise ItemRejected(
                "The server refused the calendar (403): supported-calendar-component; journals are not supported",
                status=403,
            )
        return self.connector.create_collection(components=components, **options)

    def __getattr__(self, name: str):
        return getattr(self.connector, name)


def test_journals_the_destination_cannot_take_are_reported_with_that_reason_and_the_rest_is_copied(
    owner, radicale, xandikos, monkeypatch
):
    name = f"Notes {uuid.uuid4().hex[:6]}"
    source = fill(radicale, "caldav", name, [samples.timed_event(1), samples.journal(1)])
    fill(xandikos, "caldav", name, [], components=EVENTS_AND_TASKS)
    job = job_for(owner, radicale, xandikos, source, name="refused", sync_contacts=False)
    real = dav.dav_connector
    monkeypatch.setattr(
        dav,
        "dav_connector",
        lambda account, kind, **options: (
            RefusesJournalCalendars(real(account, kind, **options))
            if account == job.destination
            else real(account, kind, **options)
        ),
    )

    run = run_job(job)

    assert (run.status, run.created) == ("completed", 1), run.error
    assert set(contents(xandikos, "caldav", name)) == {"timed-1@calsync.test"}
    messages = list(run.logs.values_list("message", flat=True))
    assert any(
        f"{name}: its journals cannot be copied: the destination refused a calendar for them" in m and "403" in m
        for m in messages
    ), messages
    assert not any("does not exist on the server any more" in m for m in messages), messages
    assert names_on(xandikos, name) == {name}
