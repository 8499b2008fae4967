"""Reads: which accounts and collections a user may see."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from accounts.models import Account, Collection


def account_list_for(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Account]:
    """Staff see every account, everybody else only their own; anonymous users see none."""
    accounts = Account.objects.select_related("owner")
    if not user.is_authenticated or not user.is_active:
        return accounts.none()
    if user.is_staff:
        return accounts
    return accounts.filter(owner=user)


def account_name_taken(*, owner_id: int, name: str, exclude_id: int | None = None) -> bool:
    accounts = Account.objects.filter(owner_id=owner_id, name=name)
    if exclude_id is not None:
        accounts = accounts.exclude(pk=exclude_id)
    return accounts.exists()


def collections_for(*, account: Account) -> QuerySet[Collection]:
    return Collection.objects.filter(account=account).order_by("display_name", "url")
