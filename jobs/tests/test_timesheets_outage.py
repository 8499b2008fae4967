"""Time sheets lose nothing when Kimai goes away in the middle of a run (connection refused)."""

from __future__ import annotations

from collections import Counter

import pytest
from django.contrib.auth.models import User

from calsync.ops.models import AuditEvent
from jobs.models import ItemLink
from jobs.tests.timesheet_world import World, build_world
from jobs.timesheets.entries import marker_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db) -> World:
    built = build_world(User.objects.create_user("owner"))
    yield built
    built.stop()


def markers_in_kimai(world: World) -> Counter:
    return Counter(marker_in(t["description"]) for t in world.kimai.state.timesheets.values())


def test_entries_kimai_missed_while_it_was_away_are_written_on_the_next_run_and_none_twice(world):
    sources = [world.account(minutes) for minutes in (600, 500, 400, 300, 200, 100)]
    # The third entry is written, but Kimai goes away before it answers; the rest meet a closed port.
    world.kimai.go_away_after("POST", r"/api/timesheets", 3)

    interrupted = world.run()

    assert interrupted.created == 2 and interrupted.errors == 4, interrupted.error
    assert sum(markers_in_kimai(world).values()) == 3
    world.kimai.come_back()

    next_run = world.run()

    assert (next_run.status, next_run.created, next_run.errors) == ("completed", 3, 0), next_run.error
    assert markers_in_kimai(world) == Counter({str(source): 1 for source in sources})
    assert ItemLink.objects.filter(job=world.job).count() == 6
    third_run = world.run()
    assert (third_run.created, third_run.updated, third_run.unchanged, third_run.errors) == (0, 0, 6, 0)


def test_an_entry_that_fails_again_is_recorded_with_the_reason_and_its_attempts(world):
    first, second = world.account(120), world.account(60)
    for _outage in range(2):
        # Each time, one write lands but its answer is lost, and Kimai refuses the rest.
        world.kimai.go_away_after("POST", r"/api/timesheets", 1)
        world.run()
        world.kimai.come_back()

    decisions = AuditEvent.objects.filter(object_type="timesheet", object_id=f"zammad-ta-{second}").order_by("id")
    assert [(d.after["outcome"], d.after["attempts"]) for d in decisions] == [("errors", 1), ("errors", 2)]
    assert "connection refused" in decisions[0].after["error"]  # refused in the first outage
    assert decisions[1].after["error"]  # written, but its answer lost, in the second

    healed = world.run()

    assert (healed.created, healed.errors) == (0, 0)
    assert markers_in_kimai(world) == Counter({str(first): 1, str(second): 1})
