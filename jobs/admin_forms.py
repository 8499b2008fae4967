"""The job form in the user's words: components as checkboxes, the collection mapping picked from
the discovered collections of both accounts, and a help text on every option.

A mixin for the admin's ``SyncJobForm`` (``jobs/admin.py``), so that the engines' own options
(``jobs/engines/``) and these choices grow the same form without touching each other.
"""

from __future__ import annotations

from typing import Any

from django import forms

from accounts.models import Account, Collection
from accounts.pickers import CollectionMapField, CollectionMapWidget, MapChoice, discovered, resolve_collection_map

COMPONENT_CHOICES = [
    ("VEVENT", "Events"),
    ("VTODO", "Tasks"),
    ("VJOURNAL", "Journal entries"),
]

HELP_TEXTS = {
    "name": "A name you will recognise in the list and on the dashboard.",
    "source": "Where the items come from.",
    "destination": "Where the items go. Must be another account.",
    "mode": (
        "Copy: new and changed items go from source to destination; nothing is ever deleted. "
        "Mirror: the destination follows the source, deletions included. "
        "Two-way: changes on either side reach the other."
    ),
    "conflict_policy": (
        "When an item changed on both sides since the last run (two-way): keep the source's version, "
        "keep the destination's, or wait for you to choose under Conflicts."
    ),
    "enabled": "Disabled jobs keep their settings and history but do not run on their schedule.",
    "sync_calendars": "Sync calendars and task lists.",
    "sync_contacts": "Sync address books.",
    "components": (
        "What to copy from calendars: events; tasks (to-dos, shown in Reminders on Apple devices); journal "
        "entries (few apps use them). Unticked kinds stay where they are."
    ),
    "create_collections": "Create a calendar or address book on the destination when it has none of that name.",
    "collection_map": (
        "Which source collections to sync, and where each goes. Match by name unless the two servers "
        "name them differently."
    ),
    "sync_all": "ICS imports: import past events too (otherwise only current and future ones).",
    "keep_local": "ICS imports: keep events on the destination that the feed no longer lists.",
}


class JobFormChoices:
    """Mixed into a ``ModelForm`` of ``SyncJob`` before ``forms.ModelForm``."""

    fields: dict[str, forms.Field]
    instance: Any
    cleaned_data: dict[str, Any]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, text in HELP_TEXTS.items():
            # Fields that bring their own words (the engines' options) keep them.
            if name in self.fields and not self.fields[name].help_text:
                self.fields[name].help_text = text
        if "components" in self.fields:
            self.fields["components"] = forms.MultipleChoiceField(
                label="Calendar components",
                choices=COMPONENT_CHOICES,
                widget=forms.CheckboxSelectMultiple,
                required=False,
                initial=self.fields["components"].initial,
                help_text=HELP_TEXTS["components"],
            )
        if "collection_map" in self.fields:
            self.fields["collection_map"] = self._collection_map_field()

    def _account_ids(self, name: str) -> list[int]:
        field = self.fields.get(name)
        queryset = getattr(field, "queryset", None)
        return list((queryset if queryset is not None else Account.objects.none()).values_list("pk", flat=True))

    def _collection_map_field(self) -> CollectionMapField:
        widget = CollectionMapWidget()
        kinds = (Collection.Kind.CALENDAR, Collection.Kind.ADDRESSBOOK)
        # An ICS import's source collection is its feed.
        widget.sources = discovered(self._account_ids("source"), kinds=(*kinds, Collection.Kind.FEED))
        widget.destinations = discovered(self._account_ids("destination"), kinds=kinds)
        data = getattr(self, "data", None) or {}
        widget.current = (
            data.get("source", self.instance.source_id) if data else self.instance.source_id,
            data.get("destination", self.instance.destination_id) if data else self.instance.destination_id,
        )
        return CollectionMapField(
            label="Collections", required=False, widget=widget, help_text=HELP_TEXTS["collection_map"]
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()  # type: ignore[misc]
        if "components" in cleaned and not cleaned["components"] and cleaned.get("sync_calendars"):
            self.add_error("components", "Tick at least one kind, or do not sync calendars.")  # type: ignore[attr-defined]
        choice = cleaned.get("collection_map")
        if isinstance(choice, MapChoice):
            try:
                cleaned["collection_map"] = resolve_collection_map(
                    choice,
                    source=cleaned.get("source"),
                    destination=cleaned.get("destination"),
                    kept=self._undiscovered_entries(cleaned.get("source")),
                )
            except forms.ValidationError as exc:
                self.add_error("collection_map", exc)  # type: ignore[attr-defined]
        return cleaned

    def _undiscovered_entries(self, source: Account | None) -> dict[str, str]:
        stored = self.instance.collection_map or {}
        if not stored or source is None or source.pk != self.instance.source_id:
            return {}
        known = {url.rstrip("/") for url in Collection.objects.filter(account=source).values_list("url", flat=True)}
        return {url: target for url, target in stored.items() if url.rstrip("/") not in known}
