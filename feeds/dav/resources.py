"""The URL space of the server and what each path is.

    /dav/                                   root (discovery starts here)
    /dav/principals/<user>/                 the user's principal
    /dav/calendars/<user>/                  calendar home
    /dav/calendars/<user>/<calendar>/       a calendar (own, or ``appointments-<artist>``)
    /dav/calendars/<user>/<calendar>/<name> a calendar object resource

A user reaches only their own principal and home; anything else is "not found" rather than
"forbidden", so the server does not confirm which user names exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from urllib.parse import quote, unquote

from feeds.dav import backends
from feeds.dav.backends.base import CalendarNode
from feeds.dav.errors import bad_name, has_control_characters

ROOT = "/dav/"


class Kind(Enum):
    ROOT = "root"
    PRINCIPALS = "principals"
    PRINCIPAL = "principal"
    HOMES = "homes"
    HOME = "home"
    CALENDAR = "calendar"
    OBJECT = "object"


@dataclass(slots=True)
class Resource:
    kind: Kind
    href: str
    user: object
    slug: str = ""
    calendar: CalendarNode | None = None  # None for a calendar or object path that does not exist (yet)
    name: str = ""

    @property
    def is_collection(self) -> bool:
        return self.kind is not Kind.OBJECT


def principal_href(user) -> str:
    return f"{ROOT}principals/{quote(user.get_username(), safe='')}/"


def home_href(user) -> str:
    return f"{ROOT}calendars/{quote(user.get_username(), safe='')}/"


def calendar_href(user, slug: str) -> str:
    return f"{home_href(user)}{quote(slug, safe='')}/"


def object_href(user, slug: str, name: str) -> str:
    return f"{calendar_href(user, slug)}{quote(name, safe='')}"


def _name(part: str) -> str:
    """One path segment, decoded; a name no calendar app could store is refused up front.

    Django re-percent-encodes bytes that are not UTF-8, so ``strict`` finds them here; control
    characters (NUL above all, which PostgreSQL text cannot hold) cannot be written in XML.
    """
    try:
        name = unquote(part, errors="strict")
    except UnicodeDecodeError:
        raise bad_name("A name must be UTF-8.") from None
    if has_control_characters(name):
        raise bad_name("A name must not contain control characters.")
    return name


def resolve(user, path: str) -> Resource | None:
    """``path`` is what follows ``/dav/`` in the request URL (still percent-encoded)."""
    parts = [_name(part) for part in path.split("/") if part]
    if not parts:
        return Resource(Kind.ROOT, ROOT, user)
    area, rest = parts[0], parts[1:]
    if rest and rest[0] != user.get_username():
        return None
    if area == "principals" and len(rest) <= 1:
        return (
            Resource(Kind.PRINCIPAL, principal_href(user), user)
            if rest
            else Resource(Kind.PRINCIPALS, f"{ROOT}principals/", user)
        )
    if area != "calendars" or len(rest) > 3:
        return None
    if not rest:
        return Resource(Kind.HOMES, f"{ROOT}calendars/", user)
    if len(rest) == 1:
        return Resource(Kind.HOME, home_href(user), user)
    slug = rest[1]
    calendar = backends.calendar_named(user, slug, home_href=home_href(user))
    if len(rest) == 2:
        return Resource(Kind.CALENDAR, calendar_href(user, slug), user, slug, calendar)
    if calendar is None:
        return None
    return Resource(Kind.OBJECT, object_href(user, slug, rest[2]), user, slug, calendar, rest[2])


def children(resource: Resource) -> list[Resource]:
    """The members listed for ``Depth: 1`` (objects of a calendar are listed by the caller, in bulk)."""
    user = resource.user
    if resource.kind is Kind.ROOT:
        return [Resource(Kind.PRINCIPALS, f"{ROOT}principals/", user), Resource(Kind.HOMES, f"{ROOT}calendars/", user)]
    if resource.kind is Kind.PRINCIPALS:
        return [Resource(Kind.PRINCIPAL, principal_href(user), user)]
    if resource.kind is Kind.HOMES:
        return [Resource(Kind.HOME, home_href(user), user)]
    if resource.kind is Kind.HOME:
        return [
            Resource(Kind.CALENDAR, calendar_href(user, node.slug), user, node.slug, node)
            for node in backends.calendars_of(user, home_href=home_href(user))
        ]
    return []
