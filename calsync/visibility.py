"""Who sees what: the one rule every ``<entity>_list_for(*, user)`` selector applies.

- Active staff (superusers are staff) see every row. In the admin, Django's model permissions then
  decide which lists a staff member reaches at all; the rows in a list are not narrowed further.
- Any other active user sees the rows they own (an account, a job, a feed; a run, a log line, an
  owed item or a conflict through its job).
- Anonymous and inactive users see nothing.

The studio's data (artists, their calendars, appointments) has no owner: only staff see it
(``sees_studio``). The API and the admin call the same selectors, so they cannot disagree.
"""

from __future__ import annotations

from typing import TypeVar

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Model, QuerySet

M = TypeVar("M", bound=Model)
User = AbstractBaseUser | AnonymousUser


def is_active_user(user: User) -> bool:
    return bool(user.is_authenticated and user.is_active)


def sees_everything(user: User) -> bool:
    return is_active_user(user) and bool(getattr(user, "is_staff", False))


sees_studio = sees_everything


def visible_to(rows: QuerySet[M], *, user: User, owner: str = "owner") -> QuerySet[M]:
    """``rows`` narrowed to what ``user`` may see; ``owner`` is the lookup from a row to its owner."""
    if not is_active_user(user):
        return rows.none()
    if sees_everything(user):
        return rows
    return rows.filter(**{owner: user.pk})
