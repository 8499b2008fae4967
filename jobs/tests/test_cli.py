"""manage.py sync_accounts against fresh servers of its own (it syncs whole accounts)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from accounts.connectors import connector_for
from accounts.connectors.base import AccountConfig
from accounts.models import Account
from calsync.lib.items import extract_uid
from calsync.testing import samples
from calsync.testing.servers import start_radicale, start_xandikos
from jobs.models import SyncJob, SyncRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def servers():
    source, dest = start_radicale(), start_xandikos()
    yield source, dest
    source.stop()
    dest.stop()


@pytest.fixture
def accounts(servers):
    source, dest = servers
    owner = User.objects.create_user("cli")
    for name, server in (("old", source), ("new", dest)):
        Account.objects.create(
            owner=owner, name=name, kind="caldav", url=server.url, username=server.username, password=server.password
        )
    config = AccountConfig(kind="caldav", url=source.url, username=source.username, password=source.password)
    dav = connector_for(config)
    calendar = dav.create_collection(name="Home", kind="calendar", components=("VEVENT", "VTODO"))
    for data in samples.calendar_objects(12):
        dav.put(calendar, data, uid=extract_uid(data))
    cards = connector_for(replace(config, kind="carddav"))
    book = cards.create_collection(name="Friends", kind="addressbook")
    for data in samples.contacts(4):
        cards.put(book, data, uid=extract_uid(data))
    return servers


def test_a_dry_run_prints_the_plan_and_writes_nothing(accounts, capsys):
    call_command("sync_accounts", "--source", "old", "--destination", "new", "--dry-run", "--create-collections")

    out = capsys.readouterr().out
    assert "create" in out and "Dry run: nothing was written." in out
    assert "12" in out and "4" in out
    dest = connector_for(AccountConfig(kind="caldav", url=accounts[1].url))
    assert [c.name for c in dest.list_collections() if c.name == "Home"] == []
    assert not SyncRun.objects.exists()


def test_a_dry_run_leaves_no_job_behind(accounts, capsys):
    call_command("sync_accounts", "--source", "old", "--destination", "new", "--dry-run", "--create-collections")

    assert "Dry run: nothing was written." in capsys.readouterr().out
    assert not SyncJob.objects.exists()


def test_a_dry_run_plans_with_an_existing_job_and_leaves_its_settings_alone(accounts, capsys):
    call_command("sync_accounts", "--source", "old", "--destination", "new", "--create-collections")
    job = SyncJob.objects.get()
    capsys.readouterr()

    call_command("sync_accounts", "--source", "old", "--destination", "new", "--dry-run", "--mode", "mirror")

    out = capsys.readouterr().out
    plan_rows = [line for line in out.splitlines() if line.startswith("http")]
    assert plan_rows and all(line.split()[2:5] == ["0", "0", "0"] for line in plan_rows), out
    job.refresh_from_db()
    assert SyncJob.objects.get().pk == job.pk
    assert (job.mode, job.create_collections) == ("copy", True)


def test_a_run_copies_everything_and_prints_a_summary(accounts, capsys):
    call_command("sync_accounts", "--source", "old", "--destination", "new", "--create-collections", "--mode", "mirror")

    out = capsys.readouterr()
    assert "completed" in out.out and "16" in out.out
    assert "16/16 items" in out.err
    run = SyncRun.objects.get()
    assert (run.trigger, run.created, run.errors) == ("cli", 16, 0)


def test_without_create_collections_nothing_lands_and_the_log_says_why(accounts, capsys):
    call_command("sync_accounts", "--source", "old", "--destination", "new", "--no-contacts")

    run = SyncRun.objects.get()
    assert run.created == 0
    assert run.logs.filter(message__contains="creating collections is off").exists()


def test_a_failed_run_exits_non_zero(accounts, capsys):
    Account.objects.filter(name="old").update(username="nobody")
    with pytest.raises(SystemExit) as exit_info:
        call_command("sync_accounts", "--source", "old", "--destination", "new")
    assert exit_info.value.code == 1
    assert "failed" in capsys.readouterr().out


def test_an_unknown_account_is_a_clear_error(db):
    with pytest.raises(CommandError, match="no account named 'nope'"):
        call_command("sync_accounts", "--source", "nope", "--destination", "x")


def test_it_refuses_a_pair_no_engine_syncs_through_the_apis_service_and_keeps_no_job():
    owner = User.objects.create_user("cli-refused")
    Account.objects.create(owner=owner, name="tickets", kind="zammad", url="https://z.example.org/", password="t")
    Account.objects.create(owner=owner, name="calendar", kind="caldav", url="https://c.example.org/")

    with pytest.raises(CommandError, match="calsync cannot sync zammad → caldav"):
        call_command("sync_accounts", "--source", "tickets", "--destination", "calendar")

    assert not SyncJob.objects.filter(owner=owner).exists()
