"""Every repair against the server that needs it: Cyrus (Fastmail) refuses each original with a 403
and a CalDAV/CardDAV precondition, and takes the repaired copy.

The source is in memory (it holds whatever it is given); the destination is a private Cyrus.
The repairs themselves are unit-tested in calsync/tests/test_repair.py.
"""

from __future__ import annotations

import uuid
from contextlib import closing
from dataclasses import replace
from urllib.parse import urlsplit

import pytest

from accounts.connectors import connector_for
from accounts.connectors.base import AccountConfig, ItemRejected
from accounts.models import Account
from calsync.lib.items import extract_uid
from calsync.testing.memory import MemoryConnector, MemoryLinkStore, MemoryServer, RecordingProgress
from calsync.testing.realservers import RealDavServer
from calsync.testing.servers import DavServer
from jobs.models import SyncJob, SyncRun
from jobs.reconcile.apply import PairSync
from jobs.reconcile.pair import Pair
from jobs.reconcile.plan import Mode
from jobs.reports import run_report
from jobs.runner import sync_run_execute
from jobs.runs import sync_job_start

pytestmark = pytest.mark.realservers


def event(body: str, *, uid: bool = True) -> str:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calsync//repairs//EN\r\nBEGIN:VEVENT\r\n"
        + ("UID:@UID@\r\n" if uid else "")
        + f"DTSTAMP:20250101T000000Z\r\n{body}SUMMARY:Repair me\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )


def card(body: str, version: str = "3.0", *, uid: bool = True) -> str:
    return f"BEGIN:VCARD\r\nVERSION:{version}\r\n" + ("UID:@UID@\r\n" if uid else "") + f"{body}END:VCARD\r\n"


TIMED = "DTSTART:20250301T090000Z\r\nDTEND:20250301T100000Z\r\n"
CASES = {
    "empty CATEGORIES": (event(TIMED + "CATEGORIES:\r\n"), "removed empty CATEGORIES"),
    "empty CLASS": (event(TIMED + "CLASS:\r\n"), "removed empty CLASS"),
    "no DTEND": (event("DTSTART:20250301T090000Z\r\n"), "an event that had no end lasts one second"),
    "DTEND before DTSTART": (
        event("DTSTART:20250301T090000Z\r\nDTEND:20250301T080000Z\r\n"),
        "an event that ended at or before its start lasts one second",
    ),
    "all-day DTEND on DTSTART": (
        event("DTSTART;VALUE=DATE:20250301\r\nDTEND;VALUE=DATE:20250301\r\n"),
        "an all-day event's end was not after its start: it ends the next day (its RFC 5545 meaning)",
    ),
    "all-day with PT1H": (
        event("DTSTART;VALUE=DATE:20250301\r\nDURATION:PT1H\r\n"),
        "an all-day event's duration PT1H became whole days (P1D)",
    ),
    "event without UID": (event(TIMED, uid=False), "added the missing UID of a VEVENT"),
    "vCard 3.0 without N": (card("FN:Ann Lee\r\n"), "added an empty N (required by vCard 3.0)"),
    "vCard without FN": (card("N:Lee;Ann;;;\r\n"), "added FN (required) from the other names"),
    "vCard without UID": (card("FN:Ann Lee\r\nN:Lee;Ann;;;\r\n", uid=False), "added the missing UID"),
    "vCard 2.1": (
        card("N:Lee;Ann\r\nFN:Ann Lee\r\nTEL;HOME;VOICE:+49 30 1234\r\n", "2.1"),
        "converted vCard 2.1 to 3.0",
    ),
}


def sync_one(server: RealDavServer, text: str, *, strict: bool = False):
    """Copy one object from memory to alice's default collection on ``server`` through the engine."""
    kind = "carddav" if text.startswith("BEGIN:VCARD") else "caldav"
    data = text.replace("@UID@", f"repair-{uuid.uuid4().hex}").encode()
    source_server = MemoryServer("src")
    source_collection = source_server.add_collection("work", "addressbook" if kind == "carddav" else "calendar")
    href = f"{source_collection.url}{uuid.uuid4().hex}.{'vcf' if kind == 'carddav' else 'ics'}"
    source_server.store(source_collection.url, href, data)
    config = AccountConfig(kind=kind, url=server.url, username=server.username, password=server.password)
    with closing(connector_for(config)) as dest:
        path = server.addressbook if kind == "carddav" else server.calendar
        [collection] = [found for found in dest.list_collections() if urlsplit(found.url).path == path]
        pair = Pair(
            MemoryConnector(source_server),
            dest,
            source_collection,
            {"VEVENT": collection, "VTODO": collection, "VCARD": collection},
            Mode.COPY,
            is_calendar=kind == "caldav",
        )
        store, progress = MemoryLinkStore(), RecordingProgress()
        result = PairSync(pair, store, progress, strict=strict).run()
        landed = list(dest.fetch(collection, [r.dest_href for r in store.records.values()]))
        return href, data, result, store, landed[0] if landed else None


@pytest.mark.parametrize("case", CASES)
def test_cyrus_takes_the_repaired_copy_of_what_it_refuses(cyrus: RealDavServer, case: str) -> None:
    text, repair = CASES[case]

    href, data, result, store, landed = sync_one(cyrus, text)

    assert result.repaired == {href: (repair,)}
    assert landed is not None and store.owed() == []
    if extract_uid(data):
        assert extract_uid(landed.data) == extract_uid(data)
    else:
        assert extract_uid(landed.data) == store.records[href].uid != ""


def test_cyrus_refuses_each_original(cyrus: RealDavServer) -> None:
    # The repairs above are needed: what the server says to each original, by bare PUT.
    config = AccountConfig(kind="caldav", url=cyrus.url, username=cyrus.username, password=cyrus.password)
    refusals = {}
    with closing(connector_for(config)) as calendars, closing(connector_for(replace(config, kind="carddav"))) as cards:
        for case, (text, _) in CASES.items():
            connector, path = (
                (cards, cyrus.addressbook) if text.startswith("BEGIN:VCARD") else (calendars, cyrus.calendar)
            )
            [collection] = [c for c in connector.list_collections() if urlsplit(c.url).path == path]
            uid = f"refused-{uuid.uuid4().hex}"
            with pytest.raises(ItemRejected) as refused:
                connector.put(collection, text.replace("@UID@", uid).encode(), uid=uid)
            refusals[case] = (refused.value.status, sorted(refused.value.conditions))

    assert {status for status, _ in refusals.values()} == {403}
    assert all(conditions for _, conditions in refusals.values()), refusals


def test_a_strict_job_leaves_what_cyrus_refuses_owed_with_the_repair_it_could_make(cyrus: RealDavServer) -> None:
    href, _, result, store, landed = sync_one(cyrus, CASES["empty CLASS"][0], strict=True)

    [owed] = store.owed()
    assert landed is None and result.repaired == {}
    assert owed.href == href and owed.status == 403
    assert "No value for CLASS property" in owed.reason and "removed empty CLASS" in owed.reason


# --- through the runner, as a user's job: the run report lists the repair -----------------------


def migrate_to_cyrus(owner, radicale: DavServer, cyrus: RealDavServer, *, strict: bool) -> tuple[SyncRun, str]:
    accounts = [
        Account.objects.create(
            owner=owner, name=f"{server.name}-{uuid.uuid4().hex[:6]}", kind="caldav", url=server.url,
            username=server.username, password=server.password,
        )
        for server in (radicale, cyrus)
    ]  # fmt: skip
    config = AccountConfig(kind="caldav", url=radicale.url, username=radicale.username, password=radicale.password)
    with closing(connector_for(config)) as source:
        collection = source.create_collection(name=f"Repairs {uuid.uuid4().hex[:6]}", kind="calendar")
        uid = f"report-{uuid.uuid4().hex}"
        href = source.put(collection, CASES["empty CATEGORIES"][0].replace("@UID@", uid).encode(), uid=uid).href
    job = SyncJob.objects.create(
        owner=owner, name=f"to cyrus {uuid.uuid4().hex[:6]}", source=accounts[0], destination=accounts[1],
        sync_contacts=False, collection_map={collection.url: ""}, strict=strict,
    )  # fmt: skip
    run = sync_run_execute(sync_job_start(job=job, enqueue=False).pk)
    assert run is not None
    return run, href


@pytest.mark.django_db
def test_the_run_report_lists_the_repair_that_let_an_object_land(
    radicale: DavServer, cyrus: RealDavServer, django_user_model
) -> None:
    owner = django_user_model.objects.create_user(f"owner-{uuid.uuid4().hex[:6]}")

    run, href = migrate_to_cyrus(owner, radicale, cyrus, strict=False)

    report = run_report(run)
    assert (report["counters"]["created"], report["counters"]["errors"], report["owed"]) == (1, 0, 0)
    assert {"href": href, "level": "info"}.items() <= next(n for n in report["notes"] if n["href"] == href).items()
    assert "repaired to land (the server refused the original): removed empty CATEGORIES" in [
        note["message"] for note in report["notes"]
    ]


@pytest.mark.django_db
def test_a_strict_job_s_report_lists_the_refusal_instead(
    radicale: DavServer, cyrus: RealDavServer, django_user_model
) -> None:
    owner = django_user_model.objects.create_user(f"owner-{uuid.uuid4().hex[:6]}")

    run, href = migrate_to_cyrus(owner, radicale, cyrus, strict=True)

    report = run_report(run)
    [item] = report["items"]
    assert (report["counters"]["created"], report["counters"]["errors"], report["owed"]) == (0, 1, 1)
    assert item["href"] == href and item["status"] == 403
    assert "calsync could land a repaired copy (removed empty CATEGORIES), but the job is strict" in item["reason"]
    assert not [note for note in report["notes"] if "repaired to land" in note["message"]]
