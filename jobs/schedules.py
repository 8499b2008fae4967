"""A job's schedule is a django-celery-beat PeriodicTask row, so it is edited like any other."""

from __future__ import annotations

import json

from django.core.exceptions import ValidationError
from django.db import transaction
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from jobs.models import SyncJob

SCHEDULED_TASK = "jobs.sync_job_scheduled"


def _crontab(expression: str) -> CrontabSchedule:
    fields = expression.split()
    if len(fields) != 5:
        raise ValidationError({"crontab": f"expected 5 fields (minute hour day month weekday), got {expression!r}"})
    minute, hour, day_of_month, month_of_year, day_of_week = fields
    schedule = CrontabSchedule(
        minute=minute, hour=hour, day_of_month=day_of_month, month_of_year=month_of_year, day_of_week=day_of_week
    )
    try:
        schedule.schedule  # noqa: B018  (celery parses the fields here and raises on nonsense)
    except ValueError as exc:
        raise ValidationError({"crontab": f"{expression!r} is not a valid crontab: {exc}"}) from None
    existing = CrontabSchedule.objects.filter(
        minute=minute, hour=hour, day_of_month=day_of_month, month_of_year=month_of_year, day_of_week=day_of_week
    ).first()
    if existing:
        return existing
    schedule.save()
    return schedule


def sync_job_set_schedule(*, job: SyncJob, interval_minutes: int | None = None, crontab: str = "") -> SyncJob:
    """Run ``job`` every ``interval_minutes`` or on a ``crontab``; neither removes the schedule."""
    if interval_minutes and crontab:
        raise ValidationError("Give an interval or a crontab, not both.")
    if interval_minutes is not None and interval_minutes < 1:
        raise ValidationError({"interval_minutes": "must be at least 1"})
    with transaction.atomic():
        if not interval_minutes and not crontab:
            if job.schedule_id:
                PeriodicTask.objects.filter(pk=job.schedule_id).delete()
                SyncJob.objects.filter(pk=job.pk).update(schedule=None)
                job.schedule = None
            return job
        task = job.schedule or PeriodicTask(name=f"sync job {job.pk}", task=SCHEDULED_TASK)
        task.args = json.dumps([job.pk])
        task.enabled = job.enabled
        task.interval, task.crontab = None, None
        if interval_minutes:
            task.interval, _ = IntervalSchedule.objects.get_or_create(
                every=interval_minutes, period=IntervalSchedule.MINUTES
            )
            # A backlog of missed ticks must not pile up runs: a tick older than one interval expires.
            task.expire_seconds = interval_minutes * 60
        else:
            task.crontab = _crontab(crontab)
            task.expire_seconds = 3600
        task.save()
        if job.schedule_id != task.pk:
            SyncJob.objects.filter(pk=job.pk).update(schedule=task)
            job.schedule = task
    return job


def schedule_description(job: SyncJob) -> dict:
    task = job.schedule
    if task is None:
        return {"interval_minutes": None, "crontab": "", "enabled": False}
    crontab = ""
    if task.crontab_id:
        c = task.crontab
        crontab = f"{c.minute} {c.hour} {c.day_of_month} {c.month_of_year} {c.day_of_week}"
    interval = task.interval.every if task.interval_id and task.interval.period == IntervalSchedule.MINUTES else None
    return {"interval_minutes": interval, "crontab": crontab, "enabled": task.enabled}
