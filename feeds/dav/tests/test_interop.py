"""Third-party clients against a real CalDAV server: caldav-server-tester, vdirsyncer and khal.

Issue 6 measures calsync's CalDAV server with clients it did not write, against Radicale as the
yardstick. Everything that knows which server is under test is in ``radicale_target`` and the
``dav_target`` fixture; the tests themselves speak only URL, credentials and "make a calendar", so
the same tests run against calsync by giving ``dav_target`` another param.
"""

from __future__ import annotations

import functools
import json
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import icalendar
import pytest

from calsync.testing.servers import DavServer
from feeds.dav.tests.conftest import make_user
from feeds.dav.tests.interop import (
    RemoteCalendar,
    VdirsyncerPair,
    feature_counts,
    features_with,
    khal_new,
    make_calendar,
    run_server_tester,
)

# calsync runs on the live server thread, which needs committed data.
pytestmark = pytest.mark.django_db(transaction=True)

# --- the server under test -----------------------------------------------------------------------


@dataclass(frozen=True)
class DavTarget:
    """A CalDAV server as the interop tests see it."""

    name: str
    base_url: str
    username: str
    password: str = field(repr=False)
    # (calendar id, component set) -> the new calendar's URL
    make_calendar: Callable[[str, tuple[str, ...]], str] = field(repr=False)

    def remote(self, url: str) -> RemoteCalendar:
        return RemoteCalendar(url, self.username, self.password)


def radicale_target(server: DavServer) -> DavTarget:
    """Radicale from the session fixture; calendars are made with MKCALENDAR through the caldav library."""
    make = functools.partial(make_calendar, server.url, server.username, server.password)
    return DavTarget("radicale", server.url, server.username, server.password, make)


def calsync_target(live_server) -> DavTarget:
    """calsync's own server on pytest-django's live server thread, with a user and an app password."""
    _, password = make_user("interop")
    base_url = f"{live_server.url}/dav/"
    make = functools.partial(make_calendar, base_url, "interop", password)
    return DavTarget("calsync", base_url, "interop", password, make)


@pytest.fixture(params=["radicale", "calsync"])
def dav_target(request) -> DavTarget:
    if request.param == "radicale":
        return radicale_target(request.getfixturevalue("radicale"))
    return calsync_target(request.getfixturevalue("live_server"))


@dataclass
class Synced:
    """An event calendar and a task list on the server, paired by vdirsyncer with a local vdir."""

    pair: VdirsyncerPair
    events: RemoteCalendar
    tasks: RemoteCalendar


@pytest.fixture
def synced(dav_target: DavTarget, tmp_path: Path) -> Synced:
    """Separate VEVENT and VTODO calendars (as Apple clients need), discovered and synced once, empty."""
    suffix = uuid.uuid4().hex[:8]
    events = dav_target.make_calendar(f"interop-events-{suffix}", ("VEVENT",))
    tasks = dav_target.make_calendar(f"interop-tasks-{suffix}", ("VTODO",))
    pair = VdirsyncerPair(
        dav_target.base_url, dav_target.username, dav_target.password, tmp_path, {"events": events, "tasks": tasks}
    )
    pair.discover()
    pair.sync()
    return Synced(pair, dav_target.remote(events), dav_target.remote(tasks))


# --- test data -----------------------------------------------------------------------------------

MASTER_START = "20260105T100000Z"
MOVED_INSTANCE = "20260107T100000Z"
CANCELLED_INSTANCE = "20260108T100000Z"


def calendar(*components: str) -> str:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//calsync//interop tests//EN", *components, "END:VCALENDAR"]
    return "\r\n".join(lines) + "\r\n"


def vevent(uid: str, summary: str, *extra: str, start: str = MASTER_START) -> str:
    head = ["BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20260101T000000Z", f"DTSTART:{start}", "DURATION:PT1H"]
    return "\r\n".join([*head, f"SUMMARY:{summary}", *extra, "END:VEVENT"])


def event(uid: str, summary: str) -> str:
    return calendar(vevent(uid, summary))


def recurring(uid: str, summary: str, moved_summary: str, *, cancel_one: bool = False) -> str:
    """A daily series with one instance moved (and retitled), optionally another one cancelled."""
    components = [
        vevent(uid, summary, "RRULE:FREQ=DAILY;COUNT=5"),
        vevent(uid, moved_summary, f"RECURRENCE-ID:{MOVED_INSTANCE}", start="20260107T150000Z"),
    ]
    if cancel_one:
        components.append(vevent(uid, summary, f"RECURRENCE-ID:{CANCELLED_INSTANCE}", "STATUS:CANCELLED"))
    return calendar(*components)


def todo(uid: str, summary: str, status: str = "NEEDS-ACTION") -> str:
    head = ["BEGIN:VTODO", f"UID:{uid}", "DTSTAMP:20260101T000000Z"]
    return calendar("\r\n".join([*head, f"SUMMARY:{summary}", f"STATUS:{status}", "END:VTODO"]))


def shape(text: str) -> dict[str, tuple[str, str]]:
    """Per component of one resource: RECURRENCE-ID (or "master") -> (SUMMARY, STATUS).

    Comparing shapes rather than bytes lets a server or client reorder and refold properties, as
    both Radicale and vdirsyncer do, while still catching a lost override or a split series.
    """
    found = {}
    for component in icalendar.Calendar.from_ical(text).walk():
        if component.name not in ("VEVENT", "VTODO"):
            continue
        key = component["RECURRENCE-ID"].to_ical().decode() if "RECURRENCE-ID" in component else "master"
        assert key not in found, f"two components for {key} in one resource:\n{text}"
        found[key] = (str(component.get("SUMMARY", "")), str(component.get("STATUS", "")))
    return found


def local_shapes(synced: Synced, collection: str) -> dict[str, dict[str, tuple[str, str]]]:
    return {uid: shape(path.read_text()) for uid, path in synced.pair.local_items(collection).items()}


def remote_shapes(remote: RemoteCalendar) -> dict[str, dict[str, tuple[str, str]]]:
    return {uid: shape(text) for uid, text in remote.items().items()}


# vdirsyncer refuses to empty a collection (its guard against a server that lists nothing); one task stays.
KEEP = {"master": ("Call the printer", "NEEDS-ACTION")}
SERIES = {"master": ("Standup", ""), MOVED_INSTANCE: ("Standup (moved)", "")}
SERIES_EDITED = {
    "master": ("Standup", ""),
    MOVED_INSTANCE: ("Standup (moved again)", ""),
    CANCELLED_INSTANCE: ("Standup", "CANCELLED"),
}


# --- caldav-server-tester ------------------------------------------------------------------------


def test_server_tester_rates_calsync_at_least_as_well_as_radicale(
    radicale: DavServer, live_server, tmp_path: Path, record_property
) -> None:
    """Both servers in one run: nothing broken or ungraceful on calsync, and every feature that is
    ``full`` on Radicale is ``full`` on calsync too. The JSON report is kept beside the test's files
    (and copied to ``$CALSYNC_INTEROP_REPORT`` when set)."""
    reports = {}
    for target in (radicale_target(radicale), calsync_target(live_server)):
        folder = tmp_path / target.name
        folder.mkdir()
        reports[target.name] = run_server_tester(target.base_url, target.username, target.password, folder)
        counts = feature_counts(reports[target.name])
        record_property(f"{target.name}_features", dict(counts))
        print(f"caldav-server-tester {reports[target.name]['tester_version']} on {target.name}: {dict(counts)}")  # noqa: T201 - the counts, shown with a failure's captured output
    combined = tmp_path / "caldav-server-tester-report.json"
    combined.write_text(json.dumps(reports, indent=2, default=str))
    if os.environ.get("CALSYNC_INTEROP_REPORT"):
        Path(os.environ["CALSYNC_INTEROP_REPORT"]).write_text(combined.read_text())

    calsync, yardstick = reports["calsync"], reports["radicale"]
    assert features_with(calsync, "broken") == [] and features_with(calsync, "ungraceful") == [], calsync["observed"]
    assert feature_counts(yardstick)["full"] >= 50, "the tester checked too little to compare"
    missing = sorted(set(features_with(yardstick, "full")) - set(features_with(calsync, "full")))
    assert missing == [], {name: calsync["observed"][name] for name in missing}
    assert feature_counts(calsync)["full"] >= feature_counts(yardstick)["full"]


# --- vdirsyncer ----------------------------------------------------------------------------------


def test_vdirsyncer_brings_server_changes_to_the_vdir(synced: Synced) -> None:
    synced.events.add(event("single", "Lunch"))
    synced.events.add(recurring("series", "Standup", "Standup (moved)"))
    synced.tasks.add(todo("task", "Buy ink"))
    synced.tasks.add(todo("keep", "Call the printer"))
    synced.pair.sync()
    assert local_shapes(synced, "events") == {"single": {"master": ("Lunch", "")}, "series": SERIES}
    assert local_shapes(synced, "tasks") == {"task": {"master": ("Buy ink", "NEEDS-ACTION")}, "keep": KEEP}

    synced.events.replace("single", event("single", "Late lunch"))
    synced.events.replace("series", recurring("series", "Standup", "Standup (moved again)", cancel_one=True))
    synced.tasks.replace("task", todo("task", "Buy ink", status="COMPLETED"))
    synced.pair.sync()
    assert local_shapes(synced, "events") == {"single": {"master": ("Late lunch", "")}, "series": SERIES_EDITED}
    assert local_shapes(synced, "tasks") == {"task": {"master": ("Buy ink", "COMPLETED")}, "keep": KEEP}

    synced.events.delete("single")
    synced.tasks.delete("task")
    synced.pair.sync()
    assert local_shapes(synced, "events") == {"series": SERIES_EDITED}
    assert local_shapes(synced, "tasks") == {"keep": KEEP}


def test_vdirsyncer_brings_vdir_changes_to_the_server(synced: Synced) -> None:
    pair = synced.pair
    single = pair.write_local("events", event("single", "Lunch"))
    series = pair.write_local("events", recurring("series", "Standup", "Standup (moved)"))
    task = pair.write_local("tasks", todo("task", "Buy ink"))
    pair.write_local("tasks", todo("keep", "Call the printer"))
    pair.sync()
    assert remote_shapes(synced.events) == {"single": {"master": ("Lunch", "")}, "series": SERIES}
    assert remote_shapes(synced.tasks) == {"task": {"master": ("Buy ink", "NEEDS-ACTION")}, "keep": KEEP}

    pair.write_local("events", event("single", "Late lunch"), path=single)
    pair.write_local("events", recurring("series", "Standup", "Standup (moved again)", cancel_one=True), path=series)
    pair.write_local("tasks", todo("task", "Buy ink", status="COMPLETED"), path=task)
    pair.sync()
    assert remote_shapes(synced.events) == {"single": {"master": ("Late lunch", "")}, "series": SERIES_EDITED}
    assert remote_shapes(synced.tasks) == {"task": {"master": ("Buy ink", "COMPLETED")}, "keep": KEEP}

    single.unlink()
    task.unlink()
    pair.sync()
    assert remote_shapes(synced.events) == {"series": SERIES_EDITED}
    assert remote_shapes(synced.tasks) == {"keep": KEEP}


def test_a_second_vdirsyncer_sync_changes_nothing(synced: Synced) -> None:
    """Nothing new on either side: no uploads, no downloads (a server whose ETags churn fails here)."""
    synced.events.add(recurring("series", "Standup", "Standup (moved)"))
    synced.pair.write_local("tasks", todo("task", "Buy ink"))
    synced.pair.sync()
    again = synced.pair.sync()
    assert "Copying" not in again and "Deleting" not in again, again


# --- khal ----------------------------------------------------------------------------------------


def test_a_khal_event_reaches_the_server_and_server_edits_reach_khal(synced: Synced, tmp_path: Path) -> None:
    events_dir = synced.pair.local_dir("events")
    path = khal_new(events_dir, tmp_path, "-r", "weekly", "-u", "2026-03-31", "2026-02-04", "09:00", "10:00", "Review")
    uid = next(uid for uid, local in synced.pair.local_items("events").items() if local == path)
    synced.pair.sync()

    on_server = synced.events.items()
    assert shape(on_server[uid]) == {"master": ("Review", "")}
    assert "RRULE:FREQ=WEEKLY" in on_server[uid].replace("\r\n", "\n"), on_server[uid]

    synced.events.replace(uid, on_server[uid].replace("SUMMARY:Review", "SUMMARY:Design review"))
    synced.pair.sync()
    assert local_shapes(synced, "events") == {uid: {"master": ("Design review", "")}}
