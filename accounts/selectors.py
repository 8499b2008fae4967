"""Reads: which accounts and collections a user may see."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from accounts.models import Account, Collection
from calsync.visibility import visible_to


def account_list_for(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Account]:
    """The accounts ``user`` may see (``calsync.visibility``: staff all, others their own)."""
    return visible_to(Account.objects.select_related("owner"), user=user)


def collection_list_for(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Collection]:
    """The collections of the accounts ``user`` may see."""
    return visible_to(Collection.objects.select_related("account"), user=user, owner="account__owner")


def account_name_taken(*, owner_id: int, name: str, exclude_id: int | None = None) -> bool:
    accounts = Account.objects.filter(owner_id=owner_id, name=name)
    if exclude_id is not None:
        accounts = accounts.exclude(pk=exclude_id)
    return accounts.exists()


def collections_for(*, account: Account) -> QuerySet[Collection]:
    return Collection.objects.filter(account=account).order_by("display_name", "url")
