"""The feed form in the user's words: the calendars to publish ticked from the account's discovered
calendars (none ticked: all of them), a help text on every option."""

from __future__ import annotations

from copy import copy
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.forms.models import construct_instance

from accounts.models import Account, Collection
from accounts.pickers import AccountCheckboxes, collection_label, discovered
from feeds.models import IcsFeed
from feeds.services import ics_feed_check

HELP_TEXTS = {
    "owner": "Who the feed belongs to: the account it reads must be theirs.",
    "name": "The calendar's name as subscribers see it (X-WR-CALNAME).",
    "path": "The feed's address after /ics/, e.g. studio/anna: letters, digits, '-', '_', '.', '/'.",
    "source_type": "Publish calendars of a CalDAV account, or an artist's booking appointments.",
    "account": "The CalDAV account whose calendars are published.",
    "calendars": "Tick the calendars to publish; none ticked publishes all of them.",
    "source_ref": "For appointments: the artist's id (leave empty for CalDAV calendars).",
    "include_todos": "Publish tasks (VTODO) too; most calendar apps ignore them in a subscription.",
    "sync_all": "Publish past events too; otherwise only current and future ones.",
    "token": "Optional secret of at least 20 characters: subscribers then need ?token=… in the URL.",
    "interval_minutes": "How often the feed is rendered again from its calendars.",
}


class IcsFeedForm(forms.ModelForm):
    user: Any = None  # who asks: the service's rules depend on it (set by the admin's get_form)
    calendars = forms.MultipleChoiceField(required=False, widget=AccountCheckboxes(account_field="account"))

    class Media:
        js = ("feeds/copy_url.js",)

    class Meta:
        model = IcsFeed
        fields = [
            "owner", "name", "path", "source_type", "account", "calendars", "source_ref", "include_todos",
            "sync_all", "token", "interval_minutes",
        ]  # fmt: skip
        widgets = {"token": forms.TextInput(attrs={"size": 48, "autocomplete": "off"})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, text in HELP_TEXTS.items():
            if name in self.fields:
                self.fields[name].help_text = text
        account_field = self.fields.get("account")
        accounts = getattr(account_field, "queryset", None)
        ids = list((accounts if accounts is not None else Account.objects.none()).values_list("pk", flat=True))
        calendars = discovered(ids, kinds=(Collection.Kind.CALENDAR,))
        choices = [(c.url, collection_label(c)) for c in calendars]
        widget = self.fields["calendars"].widget
        widget.accounts = {c.url: c.account_id for c in calendars}
        known = {url for url, _ in choices}
        # A stored URL no longer discovered stays ticked and named by its URL, not silently dropped.
        choices += [(url, url) for url in (self.instance.calendars or []) if url not in known]
        self.fields["calendars"].choices = choices  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        try:
            ics_feed_check(feed=construct_instance(self, copy(self.instance)), user=self.user)
        except ValidationError as exc:
            for name, errors in exc.message_dict.items():
                self.add_error(name if name in self.fields else None, errors)
        account = cleaned.get("account")
        picked = cleaned.get("calendars") or []
        if account is not None and picked:
            theirs = set(Collection.objects.filter(account=account).values_list("url", flat=True))
            stored = set(self.instance.calendars or []) if self.instance.account_id == account.pk else set()
            foreign = [url for url in picked if url not in theirs | stored]
            if foreign:
                self.add_error("calendars", "Tick calendars of the account chosen above.")
        return cleaned
