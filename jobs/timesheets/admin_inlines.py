"""Time-sheet mappings inline on their job, with choices read from the two servers.

A Zammad → Kimai job's page lists its activity, project and agent mappings. The Zammad types,
agents and organisations and the Kimai activities, projects and users are read once per page
from the job's own accounts (the same connectors as the engine) and offered as choices; the names
a mapping keeps beside the ids (the type's name, the agent's e-mail, the project's customer)
follow from the choice. When a server cannot be reached the page says so and takes the ids as
numbers, so a mapping can still be edited.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import InlineModelAdmin
from django.http import HttpRequest

from accounts.connectors import connector_for
from accounts.connectors.base import ConnectorError
from jobs.models import SyncJob
from jobs.timesheets.models import ActivityMapping, AgentMapping, ProjectMapping

TIMESHEET_PAIR = ("zammad", "kimai")
NO_TYPE, NO_ORGANISATION = "", ""


@dataclass
class Catalogue:
    """What the two servers offer to map, as (value, label) choices; None where unreadable."""

    types: list[tuple[int, str]] | None = None
    agents: list[tuple[int, str, str]] | None = None  # id, label, e-mail
    organisations: list[str] | None = None
    activities: list[tuple[int, str]] | None = None
    projects: list[tuple[int, str, int | None]] | None = None  # id, "Customer — Project", customer id
    users: list[tuple[int, str]] | None = None
    problems: list[str] = field(default_factory=list)


def _zammad_side(found: Catalogue, zammad: Any) -> None:
    types = zammad.list_types()
    found.types = sorted(types.items(), key=lambda item: item[1].casefold())
    found.agents = [(a["id"], _agent_label(a), a.get("email") or "") for a in zammad.agents()]
    found.organisations = sorted((o["name"] for o in zammad.organisations()), key=str.casefold)


def _kimai_side(found: Catalogue, kimai: Any) -> None:
    found.activities = sorted(((a["id"], a["name"]) for a in kimai.activities()), key=lambda a: a[1].casefold())
    customers = {c["id"]: c["name"] for c in kimai.customers()}
    found.projects = sorted(
        (
            (p["id"], f"{customers.get(p.get('customer'), '?')} — {p['name']}", p.get("customer"))
            for p in kimai.projects()
        ),
        key=lambda p: p[1].casefold(),
    )
    users = kimai.users()
    if users is None:
        found.problems.append("Kimai users: the token may not list them (only a super admin may); type the user id")
    else:
        found.users = sorted(((u["id"], u.get("alias") or u["username"]) for u in users), key=lambda u: u[1])


def catalogue_for(job: SyncJob) -> Catalogue:
    """Both servers' names, read through the job's own accounts. A server that fails is asked
    nothing more (one failure, not one per list): its lists stay None, the page takes ids."""
    found = Catalogue()
    for name, account, read in (("Zammad", job.source, _zammad_side), ("Kimai", job.destination, _kimai_side)):
        try:
            connector = connector_for(account.connector_config())
        except ConnectorError as exc:
            found.problems.append(f"{name}: {exc}")
            continue
        try:
            read(found, connector)
        except ConnectorError as exc:
            found.problems.append(f"{name}: {exc}")
        finally:
            connector.close()
    return found


def _agent_label(agent: dict) -> str:
    name = " ".join(part for part in (agent.get("firstname"), agent.get("lastname")) if part)
    email = agent.get("email") or agent.get("login") or ""
    return f"{name} ({email})" if name else email


def _choice(choices: list[tuple[Any, str]] | None, *, label: str, blank: tuple[Any, str] | None = None):
    """A select of ``choices``, or a number field when the server could not be read."""
    if choices is None:
        return forms.IntegerField(label=label, min_value=0 if blank else 1, required=blank is None)
    options = [(str(value), text) for value, text in choices]
    return forms.TypedChoiceField(
        label=label,
        choices=([(str(blank[0]), blank[1])] if blank else []) + options,
        coerce=lambda value: int(value) if value != "" else None,
        empty_value=None,
        required=blank is None,
    )


class CatalogueForm(forms.ModelForm):
    catalogue: Catalogue = Catalogue()


class ActivityMappingForm(CatalogueForm):
    class Meta:
        model = ActivityMapping
        fields = ["zammad_type_id", "kimai_activity"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["zammad_type_id"] = _choice(
            self.catalogue.types, label="Zammad type", blank=(NO_TYPE, "(entries without a type)")
        )
        self.fields["kimai_activity"] = _choice(self.catalogue.activities, label="Kimai activity")

    def save(self, commit: bool = True) -> ActivityMapping:
        names = dict(self.catalogue.types or [])
        self.instance.zammad_type_name = names.get(self.instance.zammad_type_id, self.instance.zammad_type_name)
        return super().save(commit)


class ProjectMappingForm(CatalogueForm):
    class Meta:
        model = ProjectMapping
        fields = ["organisation", "kimai_project"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        organisations = self.catalogue.organisations
        if organisations is not None:
            current = self.instance.organisation
            names = organisations + ([current] if current and current not in organisations else [])
            self.fields["organisation"] = forms.ChoiceField(
                label="Zammad organisation",
                choices=[(NO_ORGANISATION, "(tickets without an organisation)")] + [(n, n) for n in names],
                required=False,
            )
        projects = [(pid, label) for pid, label, _ in self.catalogue.projects or []]
        self.fields["kimai_project"] = _choice(
            projects if self.catalogue.projects is not None else None, label="Kimai customer — project"
        )

    def save(self, commit: bool = True) -> ProjectMapping:
        customers = {pid: customer for pid, _, customer in self.catalogue.projects or []}
        if self.instance.kimai_project in customers:
            self.instance.kimai_customer = customers[self.instance.kimai_project]
        return super().save(commit)


class AgentMappingForm(CatalogueForm):
    class Meta:
        model = AgentMapping
        fields = ["zammad_user_id", "kimai_user", "timezone"]
        help_texts = {"timezone": "The agent's time zone, e.g. Europe/Berlin; empty: the Kimai user's own."}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        agents = self.catalogue.agents
        self.fields["zammad_user_id"] = _choice(
            [(aid, label) for aid, label, _ in agents] if agents is not None else None, label="Zammad agent"
        )
        self.fields["kimai_user"] = _choice(self.catalogue.users, label="Kimai user")

    def save(self, commit: bool = True) -> AgentMapping:
        emails = {aid: email for aid, _, email in self.catalogue.agents or []}
        self.instance.email = emails.get(self.instance.zammad_user_id, self.instance.email)
        return super().save(commit)


class CatalogueInline(admin.TabularInline):
    extra = 0

    def get_formset(self, request: HttpRequest, obj: SyncJob | None = None, **kwargs: Any):
        catalogue = _catalogue(request, obj)
        form = type(self.form.__name__, (self.form,), {"catalogue": catalogue})
        return super().get_formset(request, obj, form=form, **kwargs)


def _catalogue(request: HttpRequest, job: SyncJob | None) -> Catalogue:
    """Read once per request, for the three inlines together; problems are said once."""
    if job is None:
        return Catalogue()
    cache = request.__dict__.setdefault("_calsync_timesheet_catalogues", {})
    if job.pk not in cache:
        cache[job.pk] = catalogue_for(job)
        for problem in cache[job.pk].problems:
            messages.warning(request, f"Could not read {problem}")
    return cache[job.pk]


class ActivityMappingInline(CatalogueInline):
    model = ActivityMapping
    form = ActivityMappingForm
    verbose_name = "activity mapping (Zammad type → Kimai activity)"


class ProjectMappingInline(CatalogueInline):
    model = ProjectMapping
    form = ProjectMappingForm
    verbose_name = "project mapping (Zammad organisation → Kimai project)"


class AgentMappingInline(CatalogueInline):
    model = AgentMapping
    form = AgentMappingForm
    verbose_name = "agent mapping (Zammad agent → Kimai user)"


def timesheet_inlines_for(job: SyncJob | None) -> list[type[InlineModelAdmin]]:
    """The mapping inlines, on the page of a Zammad → Kimai job only."""
    if job is None or (job.source.kind, job.destination.kind) != TIMESHEET_PAIR:
        return []
    return [ActivityMappingInline, ProjectMappingInline, AgentMappingInline]
