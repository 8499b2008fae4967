"""The audit trail: who changed what and when, with secrets removed.

Configuration changes to accounts, sync jobs and the time-sheet mappings are caught by model
signals (so the admin, the API and the shell all leave a trace without each view remembering
to), ``before`` taken in ``pre_save``; each app names its models from its ``AppConfig.ready()``
through ``audit_track``, so this module imports no app. The acting user comes from ``AuditUserMiddleware``, which
keeps ``request.user`` in a context variable for the length of the request.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from celery import shared_task
from django.conf import settings
from django.db import models
from django.db.models.signals import post_delete, post_save, pre_save
from django.forms.models import model_to_dict
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from calsync.ops.models import AuditEvent

REDACTED = "***"
SECRET_FIELDS = frozenset({"password", "secret", "token", "api_token"})
_actor: contextvars.ContextVar[Any] = contextvars.ContextVar("calsync_audit_actor", default=None)


class AuditUserMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # DRF authenticates inside the view, so the user is read lazily, when an event is recorded.
        reset = _actor.set(request)
        try:
            return self.get_response(request)
        finally:
            _actor.reset(reset)


def current_actor() -> Any:
    request = _actor.get()
    if request is None:
        return None
    # DRF sets the authenticated user on the underlying request too.
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


def scrub(values: dict[str, Any] | None) -> dict[str, Any] | None:
    if values is None:
        return None
    return {k: (REDACTED if k in SECRET_FIELDS and v else _jsonable(v)) for k, v in values.items()}


def _jsonable(value: Any) -> Any:
    if isinstance(value, str | int | float | bool | type(None) | list | dict):
        return value
    return str(value)


def audit_record(
    *,
    action: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    summary: str = "",
    before: dict | None = None,
    after: dict | None = None,
    actor: Any = None,
) -> AuditEvent:
    actor = actor if actor is not None else current_actor()
    return AuditEvent.objects.create(
        actor=actor,
        actor_label=getattr(actor, "username", "") if actor else "system",
        action=action,
        object_type=object_type or (obj._meta.label if obj is not None else ""),
        object_id=object_id or (str(obj.pk) if obj is not None else ""),
        summary=summary[:5000],
        before=scrub(before),
        after=scrub(after),
    )


@shared_task(name="jobs.audit_purge")
def audit_purge_task() -> int:
    return audit_events_purge()


def audit_events_purge() -> int:
    cutoff = timezone.now() - timedelta(days=settings.CALSYNC_AUDIT_RETENTION_DAYS)
    deleted, _ = AuditEvent.objects.filter(created_at__lt=cutoff).delete()
    return deleted


# --- signals -------------------------------------------------------------------------------------


def _snapshot(instance: models.Model) -> dict[str, Any]:
    return model_to_dict(instance, fields=[f.name for f in instance._meta.concrete_fields])


def _pre_save(sender, instance, **kwargs) -> None:
    if instance.pk and not kwargs.get("raw"):
        old = sender.objects.filter(pk=instance.pk).first()
        instance._audit_before = _snapshot(old) if old else None


def _post_save(sender, instance, created, **kwargs) -> None:
    if kwargs.get("raw"):
        return
    before = None if created else getattr(instance, "_audit_before", None)
    after = _snapshot(instance)
    if not created and before == after:
        return
    audit_record(
        action="create" if created else "update", obj=instance, before=before, after=after, summary=str(instance)
    )


def _post_delete(sender, instance, **kwargs) -> None:
    audit_record(action="delete", obj=instance, before=_snapshot(instance), summary=str(instance))


def _conflict_pre_save(sender, instance, **kwargs) -> None:
    old = sender.objects.filter(pk=instance.pk).values("resolution").first() if instance.pk else None
    instance._audit_resolution = old["resolution"] if old else ""


def _conflict_post_save(sender, instance, created, **kwargs) -> None:
    if instance.resolution and instance.resolution != getattr(instance, "_audit_resolution", ""):
        conflict_resolution_audit(conflict=instance, actor=instance.resolved_by)


def conflict_resolution_audit(*, conflict, actor=None, before: dict | None = None, after: dict | None = None):
    """Also called by ``conflict_resolve``, which saves with a queryset ``update()`` (no signal fires
    then); ``before``/``after`` add what the resolution changed on the servers."""
    return audit_record(
        action="resolve",
        obj=conflict,
        summary=f"{conflict.reason}: {conflict.resolution}",
        before={"resolution": "", **({"items": before} if before is not None else {})},
        after={
            "resolution": conflict.resolution,
            "source_href": conflict.source_href,
            "dest_href": conflict.dest_href,
            **({"items": after} if after is not None else {}),
        },
        actor=actor,
    )


def audit_track(*models_: type[models.Model]) -> None:
    """Record every create, change and delete of these models; each app calls it from its
    ``AppConfig.ready()`` for its configuration models (ops itself imports no app)."""
    for model in models_:
        uid = f"audit-{model._meta.label_lower}"
        pre_save.connect(_pre_save, sender=model, dispatch_uid=uid)
        post_save.connect(_post_save, sender=model, dispatch_uid=uid)
        post_delete.connect(_post_delete, sender=model, dispatch_uid=uid)


def audit_track_resolutions(model: type[models.Model]) -> None:
    """Record when a conflict of ``model`` (with ``resolution``, ``reason``, ``resolved_by``,
    ``source_href`` and ``dest_href``) is resolved; called from the jobs app's ``ready()``."""
    pre_save.connect(_conflict_pre_save, sender=model, dispatch_uid="audit-conflict")
    post_save.connect(_conflict_post_save, sender=model, dispatch_uid="audit-conflict")
