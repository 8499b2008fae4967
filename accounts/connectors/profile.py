"""What a CalDAV/CardDAV server was seen to do, probed at "Test connection" (``probe.py``).

Servers differ in ways a sync meets item by item (/work/shared/refs/real-servers.md): sabre/dav 1.8
has no sync-collection, SOGo ignores ``If-None-Match: *`` and turns vCard 4 into 3.0, Radicale
cuts a vCard 4 ``data:`` URI at its comma, DAViCal sends no ETag for a vCard PUT, SOGo and DAViCal
accept objects outside a calendar's component set. A profile records what was observed, so a
user sees it before migrating and a connector (``connector.profile``) or the engine (which vCard
version to read for a destination) can read it instead of guessing from a server's name. ``None``
means not probed (or the probe could not tell); every field is a plain value, stored as JSON on
the account.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

# field → (what it means for a user, the answer for True, for False)
DESCRIPTIONS: dict[str, tuple[str, str, str]] = {
    "supports_sync_collection": (
        "Change listing (sync-collection, RFC 6578)",
        "yes: re-runs list only what changed",
        "no: every run lists every item's ETag",
    ),
    "mixed_components": (
        "Events and tasks in one calendar",
        "yes",
        "no: tasks need calendars of their own",
    ),
    "honours_component_set": (
        "Calendar component sets enforced",
        "yes",
        "no: a calendar made for tasks also takes events",
    ),
    "etag_on_put": ("ETag returned when an event is written", "yes", "no: calsync reads it back"),
    "etag_on_vcard_put": ("ETag returned when a contact is written", "yes", "no: calsync reads it back"),
    "ignores_if_none_match": (
        "Creating overwrites an existing item (If-None-Match ignored)",
        "yes: calsync checks for the item before creating",
        "no",
    ),
    "vcard4": (
        "Keeps vCard 4.0 contacts as written",
        "yes: contacts are read as 4.0 for it where the source offers 4.0",
        "no: contacts are read in the version the source serves by default",
    ),
}


@dataclass(frozen=True, slots=True)
class ServerProfile:
    supports_sync_collection: bool | None = None
    mixed_components: bool | None = None
    honours_component_set: bool | None = None
    etag_on_put: bool | None = None
    etag_on_vcard_put: bool | None = None
    ignores_if_none_match: bool | None = None
    vcard4: bool | None = None
    vcard4_advertised: bool | None = None  # supported-address-data names text/vcard 4.0
    probed_at: str = ""  # ISO 8601, UTC
    notes: tuple[str, ...] = ()  # what the probe did and what it could not tell

    @property
    def probed(self) -> bool:
        return bool(self.probed_at)

    def as_dict(self) -> dict[str, Any]:
        values = asdict(self)
        values["notes"] = list(self.notes)
        return values

    @classmethod
    def from_dict(cls, values: dict[str, Any] | None) -> ServerProfile:
        """Tolerant of stored profiles from older or newer versions: unknown keys are ignored."""
        if not values:
            return cls()
        known = {f.name for f in fields(cls)}
        kept = {key: value for key, value in values.items() if key in known}
        kept["notes"] = tuple(str(note) for note in kept.get("notes") or ())
        return cls(**kept)

    def lines(self) -> list[str]:
        """One human-readable line per finding, then the notes; empty when never probed."""
        if not self.probed:
            return []
        found = []
        for name, (label, yes, no) in DESCRIPTIONS.items():
            value = getattr(self, name)
            found.append(f"{label}: {'not known' if value is None else yes if value else no}")
        return [*found, *self.notes]
