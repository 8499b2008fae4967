"""Zammad → Kimai through the runner, against the local stand-ins of both APIs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User

from accounts.connectors.kimai import parse_kimai_time
from accounts.connectors.zammad import parse_zammad_time
from calsync.ops.models import AuditEvent
from jobs.models import Conflict, ItemLink
from jobs.tests.timesheet_world import World, build_world
from jobs.timesheets.models import AgentMapping, TimesheetSettings

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db) -> World:
    built = build_world(User.objects.create_user("owner"))
    yield built
    built.stop()


def kimai_entries(world: World) -> list[dict]:
    return sorted(world.kimai.state.timesheets.values(), key=lambda t: t["id"])


def test_a_first_run_creates_every_entry_with_the_right_activity_project_user_and_zone(world):
    first, second = world.account(120, 15), world.account(60, 30, ticket=world.other_ticket)
    run = world.run()
    assert (run.status, run.created, run.conflicts, run.errors) == ("completed", 2, 0, 0), run.error
    created = kimai_entries(world)
    assert [(t["project"], t["activity"], t["user"]) for t in created] == [
        (world.project, world.phone_activity, world.ann_kimai)
    ] * 2
    assert created[0]["description"] == f"Zammad #53001 Printer on fire [zammad-ta-{first}]"
    assert created[1]["description"] == f"Zammad #53002 VPN down [zammad-ta-{second}]"
    assert [t["duration"] for t in created] == [15 * 60, 30 * 60]
    zammad_stamp = world.zammad.time_accountings[first]["created_at"]
    began = parse_kimai_time(world.kimai._render(created[0], world.kimai.state.users[world.ann_kimai])["begin"])
    assert began.utcoffset() == began.astimezone(ZoneInfo("Europe/Berlin")).utcoffset()  # the agent's zone
    assert began == (parse_zammad_time(zammad_stamp) - timedelta(minutes=15)).replace(second=0, microsecond=0)
    assert ItemLink.objects.filter(job=world.job).count() == 2


def test_a_rerun_writes_nothing_and_only_reads_pages(world):
    for minutes in (300, 200, 100):
        world.account(minutes)
    world.run()
    world.zammad.reset_log()
    world.kimai.reset_log()
    run = world.run()
    assert (run.created, run.updated, run.deleted, run.unchanged, run.conflicts) == (0, 0, 0, 3, 0)
    assert {r.method for r in world.kimai.requests} == {"GET"}
    # the users' time zones, the API user's own zone (for the date window), one page of timesheets
    assert [r.path for r in world.kimai.requests] == ["/api/users", "/api/users/me", "/api/timesheets"]
    assert [r.path for r in world.zammad.requests] == [
        "/api/v1/time_accountings",
        "/api/v1/tickets/search",
        "/api/v1/time_accounting/types",
    ]


def test_an_edited_source_entry_updates_kimai(world):
    entry = world.account(90, 15)
    world.run()
    world.zammad.update_time_accounting(entry, time_unit=45)
    run = world.run()
    assert (run.updated, run.created) == (1, 0)
    assert [t["duration"] for t in kimai_entries(world)] == [45 * 60]
    assert AuditEvent.objects.filter(action="sync.update-destination", object_id=f"zammad-ta-{entry}").exists()


def test_entries_made_by_hand_in_kimai_are_never_touched(world):
    now = world.kimai.state.timesheets
    began = datetime.now(UTC) - timedelta(hours=3)
    by_hand = world.kimai.add_timesheet(
        begin=began,
        end=began + timedelta(hours=1),
        project=world.project,
        activity=world.phone_activity,
        user=world.ann_kimai,
        description="Team meeting",
    )
    TimesheetSettings.objects.filter(job=world.job).update(orphan_policy="delete", lookback_days=3650)
    world.account(30)
    run = world.run()
    assert run.created == 1
    assert now[by_hand]["description"] == "Team meeting"


def conflicts(world: World) -> dict[str, str]:
    return {c.source_href: c.reason for c in Conflict.objects.filter(job=world.job, resolution="")}


def test_each_conflict_kind_is_recorded_with_its_reason_code(world):
    unmapped_type = world.zammad.add_type("Email")
    dup = world.account(500)
    mismatch = world.account(400)
    exported = world.account(300)
    orphan = world.account(250)
    locked = world.account(200)
    world.run()
    by_source = {t["description"].split("[zammad-ta-")[1].rstrip("]"): t for t in world.kimai.state.timesheets.values()}
    # duplicate: someone copied the entry in Kimai, marker included
    copy = by_source[str(dup)]
    world.kimai.add_timesheet(
        begin=copy["begin"],
        end=copy["end"],
        project=copy["project"],
        activity=copy["activity"],
        user=copy["user"],
        description=copy["description"],
    )
    # mismatch: the duration was changed in Kimai, not in Zammad
    world.kimai.edit_timesheet(by_source[str(mismatch)]["id"], end=by_source[str(mismatch)]["end"] + timedelta(hours=2))
    # exported: billed already, and then the source changes
    world.kimai.edit_timesheet(by_source[str(exported)]["id"], exported=True)
    world.zammad.update_time_accounting(exported, time_unit=20)
    # orphan: the Zammad entry is deleted
    world.zammad.delete_time_accounting(orphan)
    # locked: a lockdown period covers the entry whose source changed
    world.kimai.lockdown_before = by_source[str(locked)]["begin"] + timedelta(seconds=1)
    world.zammad.update_time_accounting(locked, time_unit=25)
    # unmapped activity, unknown agent, missing project
    unmapped = world.account(100, type_id=unmapped_type)
    stranger = world.zammad.add_user("bob@example.org", admin=False)
    unknown_agent = world.zammad.add_time_accounting(
        world.ticket, 5, created_by_id=stranger, created_at=datetime.now(UTC), type_id=world.phone
    )
    no_org_ticket = world.zammad.add_ticket("No organisation")
    no_project = world.account(50, ticket=no_org_ticket)
    run = world.run()
    found = conflicts(world)
    assert found[f"zammad-ta-{dup}"] == "duplicate"
    assert found[f"zammad-ta-{mismatch}"] == "duration_mismatch"
    assert found[f"zammad-ta-{exported}"] == "exported"
    assert found[f"zammad-ta-{orphan}"] == "orphan"
    assert found[f"zammad-ta-{unmapped}"] == "activity_unmapped"
    assert found[f"zammad-ta-{no_project}"] == "project_missing"
    assert found[f"zammad-ta-{unknown_agent}"] == "user_unmapped"
    assert found[f"zammad-ta-{locked}"] == "locked"
    assert run.conflicts == len(found)
    conflict = Conflict.objects.get(job=world.job, source_href=f"zammad-ta-{dup}")
    assert '"time_unit": "15.0"' in conflict.source_data and "[zammad-ta-" in conflict.dest_data


def test_an_agent_without_a_mapping_or_a_time_zone_is_a_conflict(world):
    AgentMapping.objects.filter(job=world.job).delete()
    entry = world.account(30)
    world.run()
    assert conflicts(world) == {f"zammad-ta-{entry}": "user_unmapped"}


def test_a_source_change_to_a_locked_entry_becomes_a_locked_conflict(world):
    entry = world.account(30)
    world.run()
    world.kimai.lockdown_before = parse_kimai_time("2100-01-01T00:00:00+0000")
    world.zammad.update_time_accounting(entry, time_unit=25)
    run = world.run()
    assert (run.updated, run.conflicts) == (0, 1)
    assert conflicts(world) == {f"zammad-ta-{entry}": "locked"}


def test_missing_projects_are_created_when_the_job_says_so(world):
    TimesheetSettings.objects.filter(job=world.job).update(create_missing_projects=True)
    org = world.zammad.add_organization("Globex")
    entry = world.account(30, ticket=world.zammad.add_ticket("Globex printer", organization_id=org))
    run = world.run()
    assert run.created == 1, conflicts(world)
    customer = next(c for c in world.kimai.state.customers.values() if c["name"] == "Globex")
    project = next(p for p in world.kimai.state.projects.values() if p["customer"] == customer["id"])
    assert next(iter(world.kimai.state.timesheets.values()))["project"] == project["id"]
    assert entry


def test_an_orphan_is_deleted_under_the_delete_policy(world):
    entry = world.account(30)
    world.run()
    TimesheetSettings.objects.filter(job=world.job).update(orphan_policy="delete")
    world.zammad.delete_time_accounting(entry)
    world.account(20)
    run = world.run()
    assert (run.deleted, run.created) == (1, 1)
    assert not ItemLink.objects.filter(job=world.job, source_href=f"zammad-ta-{entry}").exists()
