"""Form widgets that offer an account's discovered collections instead of URLs typed as JSON.

Every collection of every account the form may choose is rendered, marked with its account;
``accounts/static/accounts/collection_pickers.js`` shows only those of the account chosen in the
form (and the page reads correctly without it: the server renders the current account's). What
is submitted is checked again on the server against the account chosen, so a hidden row or a
forged value changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.template.loader import render_to_string
from django.utils.html import format_html
from django.utils.safestring import SafeString

from accounts.models import Collection

PICKERS_JS = "accounts/collection_pickers.js"


def collection_label(collection: Collection) -> str:
    """``Work (calendar, 14 items)``: enough to recognise a collection without its URL."""
    count = "" if collection.item_count is None else f", {collection.item_count} items"
    return f"{collection.display_name or collection.url} ({collection.get_kind_display().lower()}{count})"


def discovered(account_ids: Iterable[int], *, kinds: tuple[str, ...]) -> list[Collection]:
    return list(Collection.objects.filter(account_id__in=list(account_ids), kind__in=kinds).order_by("display_name"))


# --- a job's collection mapping -------------------------------------------------------------------

BY_NAME, PICKED = "name", "pick"
SAME_NAME, NOT_SYNCED = "name", "skip"


@dataclass(frozen=True)
class MapChoice:
    """What the mapping widget submits: the mode, and per source collection (by id) what to do."""

    mode: str = BY_NAME
    picks: dict[int, str] = field(default_factory=dict)


class CollectionMapWidget(forms.Widget):
    """Source → destination pickers: one row per source collection, a destination for each."""

    template = "admin/widgets/collection_map.html"

    class Media:
        js = (PICKERS_JS,)

    def __init__(self, *, source_field: str = "source", destination_field: str = "destination") -> None:
        super().__init__()
        self.source_field, self.destination_field = source_field, destination_field
        self.sources: list[Collection] = []
        self.destinations: list[Collection] = []
        self.current: tuple[Any, Any] = (None, None)  # the accounts chosen when the form was built

    def value_from_datadict(self, data: Mapping[str, Any], files: Any, name: str) -> MapChoice:
        prefix = f"{name}__"
        picks = {
            int(key[len(prefix) :]): str(data.get(key))
            for key in data
            if key.startswith(prefix) and key[len(prefix) :].isdigit()
        }
        return MapChoice(mode=PICKED if data.get(f"{name}_mode") == PICKED else BY_NAME, picks=picks)

    def value_omitted_from_data(self, data: Mapping[str, Any], files: Any, name: str) -> bool:
        return False

    def _as_choice(self, value: Any) -> MapChoice:
        if isinstance(value, MapChoice):
            return value
        mapping = value if isinstance(value, dict) else {}
        if not mapping:
            return MapChoice()
        dest_ids = {collection.url.rstrip("/"): collection.pk for collection in self.destinations}
        picks = {}
        for collection in self.sources:
            target = mapping.get(collection.url, mapping.get(collection.url.rstrip("/")))
            if target is None:
                picks[collection.pk] = NOT_SYNCED
            else:
                picks[collection.pk] = str(dest_ids.get(target.rstrip("/"), SAME_NAME)) if target else SAME_NAME
        return MapChoice(mode=PICKED, picks=picks)

    def render(self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None) -> SafeString:
        choice = self._as_choice(value)
        source_id, destination_id = (str(account or "") for account in self.current)
        rows = [
            {
                "collection": collection,
                "label": collection_label(collection),
                # Choosing is opt-in: a collection nobody picked a destination for is not synced.
                "pick": choice.picks.get(collection.pk, NOT_SYNCED),
                "shown": str(collection.account_id) == source_id,
            }
            for collection in self.sources
        ]
        options = [
            {"collection": collection, "label": collection_label(collection),
             "shown": str(collection.account_id) == destination_id}
            for collection in self.destinations
        ]  # fmt: skip
        context = {
            "name": name,
            "mode": choice.mode,
            "rows": rows,
            "options": options,
            "source_id": f"id_{self.source_field}",
            "destination_id": f"id_{self.destination_field}",
            "any_shown": any(row["shown"] for row in rows),
        }
        return SafeString(render_to_string(self.template, context))


class CollectionMapField(forms.Field):
    widget = CollectionMapWidget

    def has_changed(self, initial: Any, data: Any) -> bool:
        return True  # compared once resolved, in the form's clean()


def resolve_collection_map(
    choice: MapChoice, *, source: Any, destination: Any, kept: Mapping[str, str]
) -> dict[str, str]:
    """The ``collection_map`` a choice stands for, checked against the accounts chosen.

    ``kept``: entries of the stored map for source collections no longer discovered (kept as
    they are, a picker cannot show them). Raises ``forms.ValidationError`` on a destination that
    is not one of the destination account's collections, or a choice that picks nothing.
    """
    if choice.mode != PICKED:
        return {}
    sources = {c.pk: c for c in Collection.objects.filter(account=source)} if source else {}
    targets = {str(c.pk): c for c in Collection.objects.filter(account=destination)} if destination else {}
    mapping = dict(kept)
    for pk, pick in choice.picks.items():
        collection = sources.get(pk)
        if collection is None or pick == NOT_SYNCED:
            continue
        if pick == SAME_NAME:
            mapping[collection.url] = ""
        elif pick in targets:
            mapping[collection.url] = targets[pick].url
        else:
            raise forms.ValidationError(f"{collection_label(collection)}: choose one of the destination's collections.")
    if not mapping:
        raise forms.ValidationError("Choose at least one collection to sync, or match all of them by name.")
    return mapping


# --- a feed's calendars ---------------------------------------------------------------------------


class AccountCheckboxes(forms.CheckboxSelectMultiple):
    """Checkboxes for collections of several accounts; each follows the account select."""

    class Media:
        js = (PICKERS_JS,)

    def __init__(self, *, account_field: str = "account") -> None:
        super().__init__()
        self.account_field = account_field
        self.accounts: dict[str, int] = {}  # value → account id

    def render(self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None) -> SafeString:
        # Shown by the script while the chosen account has no calendar to tick.
        note = format_html(
            '<p class="help" data-empty-for="id_{}" hidden>No calendars of this account yet: choose an account, or '
            "press “Discover collections” on its page.</p>",
            self.account_field,
        )
        return SafeString(super().render(name, value, attrs, renderer) + note)

    def create_option(
        self,
        name: str,
        value: Any,
        label: int | str,
        selected: bool,
        index: int,
        subindex: int | None = None,
        attrs: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        account = self.accounts.get(str(value))
        if account is not None:
            option["attrs"] = {**option["attrs"], "data-follows": f"id_{self.account_field}", "data-account": account}
        return option
