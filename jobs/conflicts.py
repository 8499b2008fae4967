"""Resolving a conflict a job left for a human: use one side's version, or ignore it.

Which code writes the chosen side depends on the job's pair of account kinds (``RESOLVERS``, like
``jobs.engines``): DAV jobs write the stored version back with If-Match; other engines bring their
own resolver. Every resolution is audited here, since the final ``update()`` fires no signal.
"""

from __future__ import annotations

import logging

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from accounts.connectors.base import ConnectorError, PreconditionFailed, RemoteCollection
from calsync.lib.items import content_hash, extract_uid
from calsync.ops.audit import conflict_resolution_audit
from jobs.models import Conflict, ItemLink
from jobs.runner import dav_connector

logger = logging.getLogger(__name__)


class ConflictError(Exception):
    """The conflict cannot be resolved as asked; the message says why."""


# (source kind, destination kind) → ``resolver(*, conflict, resolution) -> (before, after)``.
RESOLVERS: dict[tuple[str, str], str] = {
    ("zammad", "kimai"): "jobs.timesheets.resolve.timesheet_conflict_settle",
}


def _kind(data: str) -> str:
    return "carddav" if "BEGIN:VCARD" in data.upper() else "caldav"


def conflict_resolve(*, conflict: Conflict, resolution: str, user: AbstractBaseUser | None) -> Conflict:
    """Write the chosen version over the other (with If-Match, so a newer edit is never lost)."""
    if not conflict.is_open:
        raise ConflictError(f"conflict #{conflict.pk} was already resolved ({conflict.resolution})")
    if resolution not in Conflict.Resolution.values:
        raise ConflictError(f"resolution must be one of {', '.join(Conflict.Resolution.values)}")
    before: dict | None = None
    after: dict | None = None
    if resolution != Conflict.Resolution.IGNORE:
        resolver = RESOLVERS.get((conflict.job.source.kind, conflict.job.destination.kind))
        if resolver is None:
            _write_chosen(conflict, resolution)
        else:
            before, after = import_string(resolver)(conflict=conflict, resolution=resolution)
    with transaction.atomic():
        updated = Conflict.objects.filter(pk=conflict.pk, resolution="").update(
            resolution=resolution,
            resolved_by=user if user and user.is_authenticated else None,
            resolved_at=timezone.now(),
        )
    if not updated:
        raise ConflictError(f"conflict #{conflict.pk} was resolved by someone else meanwhile")
    conflict.refresh_from_db()
    conflict_resolution_audit(conflict=conflict, actor=conflict.resolved_by, before=before, after=after)
    logger.info("conflict %s resolved: %s by %s", conflict.pk, resolution, getattr(user, "pk", None))
    return conflict


def _write_chosen(conflict: Conflict, resolution: str) -> None:
    job = conflict.job
    use_source = resolution == Conflict.Resolution.SOURCE
    data = (conflict.source_data if use_source else conflict.dest_data).encode()
    target_account = job.destination if use_source else job.source
    target_href = conflict.dest_href if use_source else conflict.source_href
    target_etag = conflict.dest_etag if use_source else conflict.source_etag
    connector = dav_connector(target_account, _kind(conflict.source_data or conflict.dest_data))
    try:
        written = connector.put(
            RemoteCollection(url=target_account.url, name="", kind=""), data, href=target_href, etag=target_etag
        )
    except PreconditionFailed:
        raise ConflictError(
            "The item changed again since the conflict was recorded. Run the job to refresh the conflict."
        ) from None
    except ConnectorError as exc:
        raise ConflictError(f"The server refused the write: {exc}") from None
    finally:
        connector.close()
    digest = content_hash(data)
    link_values = {"uid": extract_uid(data)[:1000], "source_hash": digest, "dest_hash": digest}
    if use_source:
        link_values.update(dest_href=written.href, dest_etag=written.etag, source_etag=conflict.source_etag)
    else:
        link_values.update(source_href=written.href, source_etag=written.etag, dest_etag=conflict.dest_etag)
    ItemLink.objects.update_or_create(
        job=job,
        source_href=conflict.source_href if use_source else written.href,
        defaults=link_values,
        create_defaults={
            **link_values,
            "source_collection": conflict.source_collection,
            "dest_collection": conflict.dest_collection or job.destination.url,
        },
    )
