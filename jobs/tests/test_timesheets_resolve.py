"""Resolving Zammad → Kimai conflicts (use source, keep Kimai, ignore) against the stand-ins."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from calsync.ops.models import AuditEvent
from jobs.conflicts import ConflictError, conflict_resolve
from jobs.models import Conflict
from jobs.tests.timesheet_world import World, build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db) -> World:
    built = build_world(User.objects.create_user("owner", password="pw-owner-123", is_staff=True, is_superuser=True))
    yield built
    built.stop()


@pytest.fixture
def api(world) -> APIClient:
    client = APIClient()
    client.force_authenticate(world.job.owner)
    return client


def entry_of(world: World, source_id: int) -> list[dict]:
    marker = f"[zammad-ta-{source_id}]"
    return sorted(
        (t for t in world.kimai.state.timesheets.values() if marker in t["description"]), key=lambda t: t["id"]
    )


def open_conflict(world: World, source_id: int) -> Conflict:
    return Conflict.objects.get(job=world.job, source_href=f"zammad-ta-{source_id}", resolution="")


def resolve(api: APIClient, conflict: Conflict, resolution: str):
    return api.post(f"/api/conflicts/{conflict.pk}/resolve", {"resolution": resolution}, format="json")


def test_use_source_through_the_api_removes_a_duplicate_and_is_audited(world, api):
    entry = world.account(90, 15)
    world.run()
    [original] = entry_of(world, entry)
    copy = world.kimai.add_timesheet(
        begin=original["begin"],
        end=original["end"] + timedelta(minutes=5),
        project=world.project,
        activity=world.phone_activity,
        user=world.ann_kimai,
        description=original["description"],
    )
    world.run()
    conflict = open_conflict(world, entry)
    assert conflict.reason == "duplicate"

    answer = resolve(api, conflict, "source")

    assert answer.status_code == 200, answer.content
    assert answer.json()["resolution"] == "source"
    assert [t["id"] for t in entry_of(world, entry)] == [original["id"]]  # the linked one stays
    event = AuditEvent.objects.get(action="resolve", object_id=str(conflict.pk))
    assert event.actor == world.job.owner
    assert sorted(t["id"] for t in event.before["items"]["kimai"]) == [original["id"], copy]
    assert event.after["items"]["deleted"] == [copy]
    rerun = world.run()
    assert (rerun.conflicts, rerun.created, rerun.updated, rerun.unchanged) == (0, 0, 0, 1)


def test_use_source_rewrites_a_kimai_edit_and_recreates_a_deleted_entry(world, api):
    edited, deleted = world.account(90, 15), world.account(60, 10)
    world.run()
    [kimai_edited] = entry_of(world, edited)
    world.kimai.edit_timesheet(kimai_edited["id"], end=kimai_edited["end"] + timedelta(hours=1))
    [kimai_deleted] = entry_of(world, deleted)
    world.kimai.edit_timesheet(kimai_deleted["id"], end=kimai_deleted["end"] + timedelta(hours=1))
    world.run()
    assert open_conflict(world, edited).reason == open_conflict(world, deleted).reason == "duration_mismatch"
    del world.kimai.state.timesheets[kimai_deleted["id"]]  # someone removed it meanwhile

    assert resolve(api, open_conflict(world, edited), "source").status_code == 200
    assert resolve(api, open_conflict(world, deleted), "source").status_code == 200

    assert [t["duration"] for t in entry_of(world, edited)] == [15 * 60]
    [recreated] = entry_of(world, deleted)
    assert (recreated["duration"], recreated["user"]) == (10 * 60, world.ann_kimai)
    rerun = world.run()
    assert (rerun.conflicts, rerun.created, rerun.updated) == (0, 0, 0)


def test_keep_kimai_leaves_the_entry_and_the_next_run_does_not_ask_again(world, api):
    entry = world.account(90, 15)
    world.run()
    [kimai] = entry_of(world, entry)
    world.kimai.edit_timesheet(kimai["id"], end=kimai["end"] + timedelta(hours=1))
    world.run()
    conflict = open_conflict(world, entry)

    assert resolve(api, conflict, "destination").status_code == 200

    assert [t["duration"] for t in entry_of(world, entry)] == [75 * 60]
    rerun = world.run()
    assert (rerun.conflicts, rerun.updated, rerun.unchanged) == (0, 0, 1)
    assert not Conflict.objects.filter(job=world.job, resolution="").exists()
    event = AuditEvent.objects.get(action="resolve", object_id=str(conflict.pk))
    assert (event.after["resolution"], event.after["items"]["kept"]) == ("destination", [kimai["id"]])
    # A later change on either side is a new decision again.
    world.kimai.edit_timesheet(kimai["id"], end=kimai["end"] + timedelta(hours=2))
    assert world.run().conflicts == 1


def test_keep_kimai_settles_an_orphan_and_use_source_deletes_another(world):
    kept, dropped = world.account(90), world.account(60)
    world.run()
    world.zammad.delete_time_accounting(kept)
    world.zammad.delete_time_accounting(dropped)
    world.account(30)  # Zammad still lists something, so the empty-side guard stays quiet
    world.run()
    owner = world.job.owner

    conflict_resolve(conflict=open_conflict(world, kept), resolution="destination", user=owner)
    conflict_resolve(conflict=open_conflict(world, dropped), resolution="source", user=owner)

    assert len(entry_of(world, kept)) == 1
    assert entry_of(world, dropped) == []
    rerun = world.run()
    assert (rerun.conflicts, rerun.deleted) == (0, 0)


def test_an_exported_or_locked_entry_cannot_take_the_source_version(world, api):
    exported, locked = world.account(300, 15), world.account(200, 15)
    world.run()
    world.kimai.edit_timesheet(entry_of(world, exported)[0]["id"], exported=True)
    world.zammad.update_time_accounting(exported, time_unit=20)
    world.kimai.lockdown_before = entry_of(world, locked)[0]["begin"] + timedelta(seconds=1)
    world.zammad.update_time_accounting(locked, time_unit=25)
    world.run()
    assert (open_conflict(world, exported).reason, open_conflict(world, locked).reason) == ("exported", "locked")

    refused = resolve(api, open_conflict(world, exported), "source")
    assert refused.status_code == 409 and "exported" in refused.json()["detail"]
    with pytest.raises(ConflictError, match="exported or locked"):
        conflict_resolve(conflict=open_conflict(world, locked), resolution="source", user=world.job.owner)

    assert [t["duration"] for t in entry_of(world, exported) + entry_of(world, locked)] == [15 * 60, 15 * 60]
    assert not AuditEvent.objects.filter(action="resolve").exists()
    assert resolve(api, open_conflict(world, exported), "destination").status_code == 200
    assert world.run().conflicts == 1  # only the locked one is still waiting


def test_an_unmapped_entry_needs_its_mapping_for_use_source_but_can_be_ignored(world, api):
    email = world.zammad.add_type("Email")
    entry = world.account(30, type_id=email)
    world.run()
    conflict = open_conflict(world, entry)
    assert conflict.reason == "activity_unmapped"

    refused = resolve(api, conflict, "source")
    assert refused.status_code == 409 and "activity_unmapped" in refused.json()["detail"]
    assert resolve(api, conflict, "ignore").status_code == 200

    conflict.refresh_from_db()
    assert (conflict.resolution, conflict.resolved_by) == ("ignore", world.job.owner)
    assert AuditEvent.objects.get(action="resolve", object_id=str(conflict.pk)).after["resolution"] == "ignore"
    assert world.kimai.calls("POST") == [] and world.kimai.calls("PATCH") == []
    assert world.run().conflicts == 1  # ignoring decides nothing: the next run asks again


def test_the_admin_actions_resolve_time_sheet_conflicts(world, client):
    entry = world.account(90, 15)
    world.run()
    [kimai] = entry_of(world, entry)
    world.kimai.edit_timesheet(kimai["id"], end=kimai["end"] + timedelta(hours=1))
    world.run()
    conflict = open_conflict(world, entry)
    client.force_login(world.job.owner)

    answer = client.post("/admin/jobs/conflict/", {"action": "use_source", "_selected_action": [conflict.pk]})

    assert answer.status_code == 302
    conflict.refresh_from_db()
    assert conflict.resolution == "source"
    assert [t["duration"] for t in entry_of(world, entry)] == [15 * 60]
