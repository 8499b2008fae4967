"""What the protocol layer asks of a calendar, whoever stores it (the sabre/dav backend shape).

The protocol layer (``feeds/dav/methods``) knows HTTP, XML and the RFCs; a backend knows where the
objects live and what a write means. Etags here are bare (no quotes); the protocol layer quotes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from feeds.dav.errors import precondition_failed
from feeds.dav.objects import CheckedObject


@dataclass(frozen=True, slots=True)
class StoredObject:
    name: str
    etag: str
    component: str = ""
    data: bytes | None = None  # None when the caller did not ask for the body
    # Stored bounds of all instances (floating times read as UTC), when the backend has them.
    span: tuple[datetime | None, datetime | None] | None = None
    size: int | None = None  # bytes of the body, known without loading it
    modified: datetime | None = None  # DAV:getlastmodified


@dataclass(frozen=True, slots=True)
class Changes:
    token: str
    changed: list[StoredObject] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class PutResult:
    etag: str
    created: bool
    stored_as_sent: bool  # only then may the answer carry the ETag (RFC 4791 section 5.3.4)


@dataclass(frozen=True, slots=True)
class Precondition:
    """``If-Match`` (an etag, ``*`` or None) and ``If-None-Match: *`` of a write."""

    if_match: str | None = None
    if_none_match_any: bool = False


class InvalidSyncToken(Exception):
    pass


def check_precondition(when: Precondition, current_etag: str | None) -> None:
    """Raise 412 unless the object's current etag (None: it does not exist) satisfies ``when``."""
    if when.if_none_match_any and current_etag is not None:
        raise precondition_failed("An object with this name exists already.")
    if when.if_match is not None and (current_etag is None or when.if_match not in ("*", current_etag)):
        raise precondition_failed()


class CalendarNode(Protocol):
    slug: str
    writable: bool
    can_add: bool  # a writable calendar may still refuse new objects (DAV:bind)
    display_name: str
    description: str
    color: str
    order: int
    time_zone: str
    components: list[str]
    dead_properties: dict[str, str]

    def sync_token(self) -> str: ...

    def objects(self, *, with_data: bool) -> Iterable[StoredObject]: ...

    def objects_named(self, names: list[str], *, with_data: bool) -> dict[str, StoredObject]: ...

    def candidates(self, component: str | None, start: datetime | None, end: datetime | None) -> Iterable[StoredObject]:
        """Objects that may match a calendar-query (with data); the caller applies the filter exactly."""
        ...

    def changes_since(self, token: str, *, with_data: bool) -> Changes: ...

    def put(self, name: str, data: bytes, checked: CheckedObject, when: Precondition) -> PutResult: ...

    def delete_object(self, name: str, when: Precondition) -> None: ...

    def set_properties(self, values: dict[str, str | int | list[str]], dead: dict[str, str | None]) -> None: ...

    def delete(self) -> None: ...
