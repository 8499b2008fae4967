"""Time-sheet mappings inline on their job, with the choices read from Zammad and Kimai."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import expect

from accounts.models import Account
from jobs.models import SyncJob
from jobs.tests.timesheet_world import World, build_world
from jobs.timesheets.models import ActivityMapping, ProjectMapping

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(admin_user: User):
    world = build_world(admin_user)
    world.zammad.add_type("E-mail")
    world.zammad.add_organization("Globex")
    world.zammad.add_user("client@example.org", customer=True)
    customer = world.kimai.add_customer("Globex")
    world.kimai.add_project("Hosting", customer)
    world.kimai.add_activity("E-mail support")
    yield world
    world.stop()


def test_the_job_page_offers_zammad_and_kimai_names_instead_of_ids(admin_client, world: World):
    page = admin_client.get(f"/admin/jobs/syncjob/{world.job.pk}/change/").content.decode()

    assert 'name="activity_mappings-TOTAL_FORMS"' in page and 'name="agent_mappings-TOTAL_FORMS"' in page
    assert f'<option value="{world.phone}" selected>Phone</option>' in page and ">E-mail</option>" in page
    assert f'<option value="{world.phone_activity}" selected>Phone support</option>' in page
    assert ">ACME — Support</option>" in page and ">Globex — Hosting</option>" in page
    assert '<option value="Globex">Globex</option>' in page
    assert f'<option value="{world.ann}" selected>ann@example.org</option>' in page
    assert "client@example.org</option>" not in page  # a customer accounts no time
    assert f'<option value="{world.ann_kimai}" selected>ann</option>' in page


def test_a_server_that_cannot_be_read_leaves_the_ids_editable_and_says_why(admin_client, world: World, settings):
    settings.CALSYNC_HTTP_RETRIES = 0
    world.kimai.go_away()

    response = admin_client.get(f"/admin/jobs/syncjob/{world.job.pk}/change/")

    page = response.content.decode()
    assert response.status_code == 200
    assert "Could not read Kimai: " in page
    assert f'name="activity_mappings-0-kimai_activity" value="{world.phone_activity}"' in page
    assert ">E-mail</option>" in page  # Zammad still answers


def test_a_plain_caldav_job_has_no_time_sheet_mappings(admin_client, admin_user):
    from jobs.tests.test_admin_run_pages import job as _  # noqa: F401 - the fixture's shape, reused below

    one = Account.objects.create(owner=admin_user, name="a", kind="caldav", url="http://127.0.0.1:1/")
    two = Account.objects.create(owner=admin_user, name="b", kind="caldav", url="http://127.0.0.1:2/")
    job = SyncJob.objects.create(owner=admin_user, name="dav", source=one, destination=two)

    page = admin_client.get(f"/admin/jobs/syncjob/{job.pk}/change/").content.decode()

    assert "activity_mappings-TOTAL_FORMS" not in page


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_mapping_added_on_the_job_page_keeps_the_names_the_servers_gave(admin_page, live_server, world: World):
    admin_page.set_viewport_size({"width": 1280, "height": 800})
    admin_page.goto(f"{live_server.url}/admin/jobs/syncjob/{world.job.pk}/change/")

    group = admin_page.locator("#activity_mappings-group")
    group.locator(".add-row a").click()
    group.locator("select[name='activity_mappings-1-zammad_type_id']").select_option(label="E-mail")
    group.locator("select[name='activity_mappings-1-kimai_activity']").select_option(label="E-mail support")
    projects = admin_page.locator("#project_mappings-group")
    projects.locator(".add-row a").click()
    projects.locator("select[name='project_mappings-1-organisation']").select_option("Globex")
    projects.locator("select[name='project_mappings-1-kimai_project']").select_option(label="Globex — Hosting")
    admin_page.click("input[name=_continue]")

    expect(admin_page.locator(".messagelist")).to_contain_text("was changed successfully")
    added = ActivityMapping.objects.get(job=world.job, zammad_type_name="E-mail")
    activities = world.kimai.state.activities.values()
    assert added.kimai_activity == next(a["id"] for a in activities if a["name"] == "E-mail support")
    hosting = ProjectMapping.objects.get(job=world.job, organisation="Globex")
    assert hosting.kimai_customer == world.kimai.state.projects[hosting.kimai_project]["customer"]
