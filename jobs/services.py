"""Writes for the jobs app. Keyword-only, named ``<entity>_<action>``."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django_celery_beat.models import PeriodicTask

from jobs.engines import sync_job_validate
from jobs.models import SyncJob
from jobs.schedules import sync_job_set_schedule

# --- sync jobs ---------------------------------------------------------------------------------

JOB_FIELDS = (
    "name", "source", "destination", "mode", "conflict_policy", "sync_calendars", "sync_contacts", "components",
    "create_collections", "collection_map", "sync_all", "keep_local", "strict", "enabled",
)  # fmt: skip


def _save_job(job: SyncJob) -> None:
    if job.source_id is not None and job.source_id == job.destination_id:
        raise ValidationError({"destination": "The destination must be another account."})
    job.full_clean()
    sync_job_validate(job=job)
    try:
        with transaction.atomic():
            job.save()
    except IntegrityError:
        raise ValidationError({"name": "A job with this name already exists."}) from None


def sync_job_create(*, owner: AbstractBaseUser, schedule: dict | None = None, **fields: Any) -> SyncJob:
    job = SyncJob(owner=owner, **{name: value for name, value in fields.items() if name in JOB_FIELDS})
    with transaction.atomic():
        _save_job(job)
        if schedule:
            sync_job_set_schedule(job=job, **schedule)
    return job


def sync_job_update(*, job: SyncJob, schedule: dict | None = None, **fields: Any) -> SyncJob:
    for name, value in fields.items():
        if name in JOB_FIELDS:
            setattr(job, name, value)
    with transaction.atomic():
        _save_job(job)
        if schedule is not None:
            sync_job_set_schedule(job=job, **schedule)
        elif job.schedule_id:
            PeriodicTask.objects.filter(pk=job.schedule_id).update(enabled=job.enabled)
    return job


def sync_job_delete(*, job: SyncJob) -> None:
    with transaction.atomic():
        if job.schedule_id:
            PeriodicTask.objects.filter(pk=job.schedule_id).delete()
        job.delete()
