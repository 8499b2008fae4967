"""Every Celery task has a soft and a hard time limit; a sync run's are generous."""

from __future__ import annotations

from calsync.celery import app


def test_every_task_has_a_soft_time_limit_below_its_hard_one():
    app.loader.import_default_modules()
    tasks = {name: task for name, task in app.tasks.items() if not name.startswith("celery.")}
    assert {"jobs.sync_run", "booking.pull_all", "feeds.refresh_feed"} <= set(tasks)
    for name, task in tasks.items():
        assert task.soft_time_limit and task.time_limit, name
        assert task.soft_time_limit < task.time_limit, name


def test_a_sync_run_may_take_hours_since_a_migration_checkpoints_every_batch():
    app.loader.import_default_modules()
    run = app.tasks["jobs.sync_run"]
    assert run.soft_time_limit >= 3600 and run.soft_time_limit > app.conf.task_soft_time_limit
