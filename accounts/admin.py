"""Admin for accounts and collections. Thin: every write goes through accounts.services."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.utils.decorators import method_decorator
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from accounts.connectors.base import ConnectorError, RemoteCollection
from accounts.connectors.profile import ServerProfile
from accounts.inventory import Found, describe
from accounts.models import Account, Collection
from accounts.selectors import account_list_for, account_name_taken, collection_list_for
from accounts.serializers import PASSWORD_MAX_LENGTH
from accounts.services import (
    EDITABLE_FIELDS,
    account_address_errors,
    account_check,
    account_create,
    account_discover_collections,
    account_update,
)


class AccountAdminForm(forms.ModelForm):
    password = forms.CharField(
        label="Password or token",
        required=False,
        strip=False,
        max_length=PASSWORD_MAX_LENGTH,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Write-only: the stored value is never shown. Leave blank to keep it.",
    )
    clear_password = forms.BooleanField(label="Clear the stored password", required=False)

    class Meta:
        model = Account
        fields = ("owner", *EDITABLE_FIELDS)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The instance's decrypted value must never reach the page, and a blank field must not
        # count as a change (nor be logged as one in the history).
        self.initial["password"] = ""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("password") and cleaned.get("clear_password"):
            self.add_error("clear_password", "Either type a new password or clear the stored one, not both.")
        # On change the owner is read-only, so the model form leaves the (owner, name) constraint
        # unchecked; check it here rather than fail at save time.
        owner = self.instance.owner if self.instance.pk else cleaned.get("owner")
        name = cleaned.get("name")
        if owner and name and account_name_taken(owner_id=owner.pk, name=name, exclude_id=self.instance.pk):
            self.add_error("name", "This owner already has an account with this name.")
        if owner:
            url, principal_url = cleaned.get("url") or "", cleaned.get("principal_url") or ""
            for field, message in account_address_errors(owner=owner, url=url, principal_url=principal_url).items():
                self.add_error(field, message)
        return cleaned


class CollectionInline(admin.TabularInline):
    model = Collection
    fields = ("display_name", "kind", "item_count", "url", "components", "color", "updated_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Account | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Account | None = None) -> bool:
        return False


def collections_summary(collections: Iterable[Collection]) -> str:
    """``2 calendars (14 items), 1 address book (4 contacts)`` from the stored rows."""
    return describe(
        Found(RemoteCollection(url=c.url, name=c.display_name, kind=c.kind), c.item_count) for c in collections
    )


def _described(collection: Collection) -> str:
    """``Friends (address book, 4 items)``: what a user needs to recognise a collection to map."""
    count = "" if collection.item_count is None else f", {collection.item_count} items"
    return f"{collection.display_name or collection.url} ({collection.get_kind_display().lower()}{count})"


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    form = AccountAdminForm
    change_form_template = "admin/accounts/account/change_form.html"
    list_display = ("name", "owner", "kind", "url", "last_check_ok", "last_checked_at", "collection_count")
    list_filter = ("kind", "last_check_ok")
    list_select_related = ("owner",)
    search_fields = ("name", "url", "username", "owner__username")
    autocomplete_fields = ("owner",)
    inlines = (CollectionInline,)
    actions = ("test_connection", "discover_collections")
    readonly_fields = (
        "last_checked_at",
        "last_check_ok",
        "last_check_message",
        "server_profile_summary",
        "created_at",
        "updated_at",
    )
    fieldsets = (
        (None, {"fields": ("owner", "name", "kind", "url")}),
        ("Credentials", {"fields": ("username", "password", "clear_password")}),
        ("Advanced", {"fields": ("principal_url", "verify_tls"), "classes": ("collapse",)}),
        (
            "Last connection test",
            {"fields": ("last_check_ok", "last_checked_at", "last_check_message", "server_profile_summary")},
        ),
        ("Record", {"fields": ("created_at", "updated_at"), "classes": ("collapse",)}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Account]:
        return account_list_for(user=request.user).annotate(collection_count=Count("collections"))

    @admin.display(description="collections", ordering="collection_count")
    def collection_count(self, account: Account) -> int:
        return account.collection_count

    @admin.display(description="what the server does")
    def server_profile_summary(self, account: Account) -> str:
        lines = ServerProfile.from_dict(account.server_profile).lines()
        if not lines:
            return "Not probed yet: Test connection probes a CalDAV/CardDAV server."
        return format_html_join(mark_safe("<br>"), "{}", ((line,) for line in lines))

    def get_fieldsets(self, request: HttpRequest, obj: Account | None = None) -> Any:
        if obj is not None:
            return self.fieldsets
        return [
            (title, {**options, "fields": [field for field in options["fields"] if field != "clear_password"]})
            for title, options in self.fieldsets
            if title not in ("Last connection test", "Record")
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Account | None = None) -> Any:
        # Reassigning an account to another user is not an edit made in passing.
        return (*self.readonly_fields, "owner") if obj is not None else self.readonly_fields

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        return {"owner": request.user.pk, **super().get_changeform_initial_data(request)}

    @method_decorator(sensitive_post_parameters("password"))
    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        if object_id is not None:
            stored = Collection.objects.filter(account_id=unquote(object_id)) if object_id.isdigit() else []
            extra_context = {**(extra_context or {}), "collections_summary": collections_summary(stored)}
        return super().changeform_view(request, object_id, form_url, extra_context)

    def save_model(self, request: HttpRequest, obj: Account, form: AccountAdminForm, change: bool) -> None:
        # The form has already copied its values (a blank password included) onto ``obj``; the
        # services decide what is stored, and ``obj`` is reloaded from what they saved.
        cleaned = form.cleaned_data
        if change:
            data = {name: cleaned[name] for name in form.changed_data if name in EDITABLE_FIELDS}
            if cleaned.get("clear_password"):
                data["password"] = ""
            elif not cleaned.get("password"):
                data.pop("password", None)
            account_update(account=Account.objects.get(pk=obj.pk), data=data)
        else:
            values = {name: cleaned[name] for name in EDITABLE_FIELDS if name in cleaned}
            obj.pk = account_create(owner=cleaned["owner"], **values).pk
        obj.refresh_from_db()

    # --- connection test and discovery: changelist actions and change-page buttons --------------

    def _report_check(self, request: HttpRequest, account: Account) -> None:
        result = account_check(account=account)
        if result.ok:
            self.message_user(request, f"{account.name}: connection OK. {result.message}", messages.SUCCESS)
        else:
            self.message_user(request, f"{account.name}: connection failed. {result.message}", messages.ERROR)

    def _report_discovery(self, request: HttpRequest, account: Account) -> None:
        try:
            collections = account_discover_collections(account=account)
        except ConnectorError as exc:
            self.message_user(request, f"{account.name}: discovery failed. {exc}", messages.ERROR)
            return
        names = ", ".join(_described(collection) for collection in collections)
        self.message_user(
            request, f"{account.name}: {len(collections)} collections found. {names}".rstrip(), messages.SUCCESS
        )

    @admin.action(description="Test connection", permissions=["change"])
    def test_connection(self, request: HttpRequest, queryset: QuerySet[Account]) -> None:
        for account in queryset:
            self._report_check(request, account)

    @admin.action(description="Discover collections", permissions=["change"])
    def discover_collections(self, request: HttpRequest, queryset: QuerySet[Account]) -> None:
        for account in queryset:
            self._report_discovery(request, account)

    def get_urls(self) -> list[URLPattern]:
        name = f"{self.opts.app_label}_{self.opts.model_name}"
        # Before the default URLs: their "<path:object_id>/" catch-all would swallow these.
        return [
            path("<path:object_id>/test/", self.admin_site.admin_view(self.test_view), name=f"{name}_test"),
            path("<path:object_id>/discover/", self.admin_site.admin_view(self.discover_view), name=f"{name}_discover"),
            *super().get_urls(),
        ]

    def _account_for_button(self, request: HttpRequest, object_id: str) -> Account:
        account = self.get_object(request, unquote(object_id))
        if account is None or not self.has_change_permission(request, account):
            raise PermissionDenied
        return account

    def _back_to_change_page(self, account: Account) -> HttpResponseRedirect:
        name = f"admin:{self.opts.app_label}_{self.opts.model_name}_change"
        return HttpResponseRedirect(reverse(name, args=[account.pk], current_app=self.admin_site.name))

    @method_decorator(require_POST)
    def test_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        account = self._account_for_button(request, object_id)
        self._report_check(request, account)
        return self._back_to_change_page(account)

    @method_decorator(require_POST)
    def discover_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        account = self._account_for_button(request, object_id)
        self._report_discovery(request, account)
        return self._back_to_change_page(account)


@admin.register(Collection)
class CollectionAdmin(admin.ModelAdmin):
    """Collections come from discovery; the admin shows them and may delete them, nothing else."""

    list_display = ("__str__", "account", "kind", "item_count", "url", "components", "updated_at")
    list_filter = ("kind", "account__kind")
    list_select_related = ("account",)
    search_fields = ("display_name", "url", "account__name")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Collection]:
        return collection_list_for(user=request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Collection | None = None) -> bool:
        return False
