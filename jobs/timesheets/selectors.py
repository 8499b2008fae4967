"""Reads of the time-sheet configuration, one ``<entity>_list_for(*, user)`` per entity.

The rule is the project's (``calsync/visibility.py``): staff see every row, another user the rows
of their own jobs. The admin lists through these, as every other app's admin does.
"""

from __future__ import annotations

from django.db.models import QuerySet

from calsync.visibility import User, visible_to
from jobs.timesheets.models import (
    ActivityMapping,
    AgentMapping,
    PendingTicket,
    ProjectMapping,
    TimesheetSettings,
    WebhookEndpoint,
)

JOB_OWNER = "job__owner"


def timesheet_settings_list_for(*, user: User) -> QuerySet[TimesheetSettings]:
    return visible_to(TimesheetSettings.objects.select_related("job"), user=user, owner=JOB_OWNER)


def activity_mapping_list_for(*, user: User) -> QuerySet[ActivityMapping]:
    return visible_to(ActivityMapping.objects.select_related("job"), user=user, owner=JOB_OWNER)


def project_mapping_list_for(*, user: User) -> QuerySet[ProjectMapping]:
    return visible_to(ProjectMapping.objects.select_related("job"), user=user, owner=JOB_OWNER)


def agent_mapping_list_for(*, user: User) -> QuerySet[AgentMapping]:
    return visible_to(AgentMapping.objects.select_related("job"), user=user, owner=JOB_OWNER)


def webhook_endpoint_list_for(*, user: User) -> QuerySet[WebhookEndpoint]:
    return visible_to(WebhookEndpoint.objects.select_related("job"), user=user, owner=JOB_OWNER)


def pending_ticket_list_for(*, user: User) -> QuerySet[PendingTicket]:
    return visible_to(PendingTicket.objects.select_related("job"), user=user, owner=JOB_OWNER)
