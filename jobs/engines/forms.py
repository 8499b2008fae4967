"""The job form's engine half: which option fields a job's form shows, their help, their checks.

The admin's ``SyncJobForm`` calls these three functions, so the form shows only the options of
its job's engine (once the job has its two accounts; a new job shows every option, each saying
which engines use it) and validates them through the same service as the API and the CLI
(``jobs.engines.sync_job_validate``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.module_loading import import_string

from jobs.engines import ENGINES, Engine, UnsupportedJob, engine_for, sync_job_validate
from jobs.engines.base import EngineOptions
from jobs.models import SyncJob


def _option_classes() -> dict[str, type[EngineOptions]]:
    """Engine name → its options class, in registry order, each engine once."""
    classes: dict[str, type[EngineOptions]] = {}
    for path in dict.fromkeys(ENGINES.values()):
        engine = import_string(path)
        classes[engine.name] = engine.options_class
    return classes


def all_option_names() -> list[str]:
    """Every ``SyncJob`` field some engine reads as an option."""
    names: dict[str, None] = {}
    for options in _option_classes().values():
        names.update(dict.fromkeys(options.names()))
    return list(names)


def engine_option_fields(engine: Engine | None) -> dict[str, str]:
    """The option fields a form shows for ``engine`` (None: a job without its accounts yet), with
    their help texts."""
    if engine is not None:
        return engine.options_class.help_texts()
    helps: dict[str, str] = {}
    users: dict[str, list[str]] = {}
    for name, options in _option_classes().items():
        for field, text in options.help_texts().items():
            helps.setdefault(field, text)
            users.setdefault(field, []).append(name)
    return {field: f"{text} ({', '.join(users[field])})" for field, text in helps.items()}


def job_engine(job: SyncJob) -> Engine | None:
    if job.source_id is None or job.destination_id is None:
        return None
    try:
        return engine_for(job)
    except UnsupportedJob:
        return None


def job_form_fieldsets(job: SyncJob | None, fieldsets: Sequence[tuple[Any, Any]]) -> list:
    """``fieldsets`` without the options the job's engine does not read (and without sets left empty)."""
    shown = set(engine_option_fields(job_engine(job) if job is not None else None))
    hidden = set(all_option_names()) - shown
    narrowed = []
    for title, options in fieldsets:
        fields = [name for name in options["fields"] if name not in hidden]
        if fields:
            narrowed.append((title, {**options, "fields": fields}))
    return narrowed


def job_form_help(form: forms.ModelForm) -> None:
    """Give the form's option fields their engine's help texts."""
    for name, text in engine_option_fields(job_engine(form.instance)).items():
        if name in form.fields:
            form.fields[name].help_text = text


def job_form_clean(form: forms.ModelForm, cleaned: dict[str, Any] | None) -> None:
    """Refuse a pair of accounts no engine syncs, or options its engine rejects, as form errors."""
    if not cleaned or not cleaned.get("source") or not cleaned.get("destination"):
        return  # the fields' own errors say what is missing
    values = {name: getattr(form.instance, name) for name in all_option_names()}
    values.update({name: value for name, value in cleaned.items() if name in values})
    job = SyncJob(source=cleaned["source"], destination=cleaned["destination"], **values)
    try:
        sync_job_validate(job=job)
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, messages)
