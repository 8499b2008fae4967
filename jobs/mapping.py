"""Which source collection goes to which destination collection, creating what is missing.

A job's ``collection_map`` ({source URL: destination URL or ""}) chooses: when it is set, only
the collections it names are synced, each to the named destination or, for "", to the one with
the same display name. Without a map every collection is synced, matched by display name. Servers that cannot mix
VTODO and VEVENT in one collection (or a destination calendar that only takes events) get the
tasks in a sibling collection "<name> (tasks)", so Apple clients show them in Reminders.

A journal sibling "<name> (journal)" is made only when the source collection holds journals
(few do; most servers merely allow them). When the destination cannot take journals (it refuses
such a calendar, or makes one that does not take them) the run says so, naming the source
collection and the server's answer, and copies the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from accounts.connectors.base import ConnectorError, ItemStore, RemoteCollection
from calsync.lib.items import component_kinds

SIBLING_SUFFIX = {"VTODO": " (tasks)", "VJOURNAL": " (journal)"}
ALL_CALENDAR_COMPONENTS = ("VEVENT", "VTODO", "VJOURNAL")
# Components that get a sibling only when the source really holds some: a calendar that merely
# allows journals (Radicale's default set) must not leave an empty "(journal)" calendar behind.
ONLY_WHEN_HELD = frozenset({"VJOURNAL"})
PLURAL = {"VEVENT": "events", "VTODO": "tasks", "VJOURNAL": "journals"}

Log = Callable[[str, str], None]


@dataclass(slots=True)
class MappedCollection:
    source: RemoteCollection
    # component → destination collection; a component missing here is not synced
    dest: dict[str, RemoteCollection] = field(default_factory=dict)
    would_create: list[str] = field(default_factory=list)  # dry run: names that a real run creates


def _supports(collection: RemoteCollection, component: str) -> bool:
    # An empty component set means the server did not say: RFC 4791 §5.2.3 reads that as "any".
    return not collection.components or component in collection.components


def _by_name(collections: list[RemoteCollection]) -> dict[str, RemoteCollection]:
    found: dict[str, RemoteCollection] = {}
    for collection in collections:
        found.setdefault((collection.name or collection.url).casefold(), collection)
    return found


class CollectionMapper:
    def __init__(
        self,
        dest: ItemStore,
        dest_collections: list[RemoteCollection],
        *,
        explicit: dict[str, str],
        create: bool,
        dry_run: bool,
        log: Log,
        source: ItemStore | None = None,
    ) -> None:
        self.dest = dest
        # Asked whether a source collection holds a component; without it every allowed
        # component is taken to be held.
        self.source = source
        self.dest_collections = list(dest_collections)
        self.explicit = {url.rstrip("/"): target for url, target in explicit.items()}
        self.create = create
        self.dry_run = dry_run
        self.log = log

    def map_calendar(self, source: RemoteCollection, wanted: set[str]) -> MappedCollection:
        mapped = MappedCollection(source)
        components = [c for c in ALL_CALENDAR_COMPONENTS if c in wanted and _supports(source, c)]
        if not components:
            return mapped
        main = self._find(source)
        if main is None:
            main = self._create(source.name or "calendar", source, tuple(components), mapped)
        if main is None:
            return mapped
        for component in components:
            if _supports(main, component):
                mapped.dest[component] = main
                continue
            if component in ONLY_WHEN_HELD and not self._holds(source, component):
                continue
            name = f"{main.name or source.name}{SIBLING_SUFFIX.get(component, ' (' + component.lower() + ')')}"
            sibling = _by_name(self.dest_collections).get(name.casefold())
            if sibling is None or not _supports(sibling, component):
                sibling = self._create_sibling(name, source, component, mapped)
            if sibling is not None:
                mapped.dest[component] = sibling
        return mapped

    def _holds(self, source: RemoteCollection, component: str) -> bool:
        if self.source is None:
            return True
        try:
            holds = getattr(self.source, "holds", None)
            if holds is not None:
                return bool(holds(source, component))
            # A connector without a server-side query (a feed, a test double): read the items.
            listing = self.source.list_items(source)
            return any(component in component_kinds(i.data) for i in self.source.fetch(source, list(listing.items)))
        except ConnectorError as exc:
            what = f"{source.name or source.url}: could not tell whether it holds {PLURAL[component]}"
            self.log("warning", f"{what} ({exc})")
            return True

    def _create_sibling(
        self, name: str, source: RemoteCollection, component: str, mapped: MappedCollection
    ) -> RemoteCollection | None:
        """A collection for one component the main destination collection does not take. A
        destination that cannot take the component costs those items only, with the reason said."""
        what = f"{source.name or source.url}: its {PLURAL.get(component, component)}"
        try:
            sibling = self._create(name, source, (component,), mapped)
        except ConnectorError as exc:
            self.log("error", f"{what} cannot be copied: the destination refused a calendar for them ({exc})")
            return None
        if sibling is not None and not _supports(sibling, component):
            self.log("error", f"{what} cannot be copied: the destination made {name!r} without {component} support")
            return None
        return sibling

    def map_addressbook(self, source: RemoteCollection) -> MappedCollection:
        mapped = MappedCollection(source)
        dest = self._find(source) or self._create(source.name or "contacts", source, (), mapped)
        if dest is not None:
            mapped.dest["VCARD"] = dest
        return mapped

    def _find(self, source: RemoteCollection) -> RemoteCollection | None:
        target = self.explicit.get(source.url.rstrip("/"))
        if target:
            for collection in self.dest_collections:
                if collection.url.rstrip("/") == target.rstrip("/"):
                    return collection
            self.log("error", f"mapped destination {target} does not exist; {source.name or source.url} skipped")
            raise LookupError(target)
        return _by_name(self.dest_collections).get((source.name or source.url).casefold())

    def _create(
        self, name: str, source: RemoteCollection, components: tuple[str, ...], mapped: MappedCollection
    ) -> RemoteCollection | None:
        if not self.create:
            self.log("warning", f"no destination collection named {name!r}; creating collections is off, skipped")
            return None
        if self.dry_run:
            mapped.would_create.append(name)
            return None
        try:
            created = self.dest.create_collection(
                name=name, kind=source.kind, color=source.color, description=source.description, components=components
            )
        except ConnectorError as exc:
            if exc.permanent or len(components) < 2:
                raise
            # Some servers refuse a mixed component set outright: events first, tasks beside them.
            self.log("info", f"the destination refused a calendar with {', '.join(components)} ({exc}); splitting it")
            created = self.dest.create_collection(
                name=name,
                kind=source.kind,
                color=source.color,
                description=source.description,
                components=components[:1],
            )
        self.log("info", f"created collection {name!r} on the destination")
        self.dest_collections.append(created)
        return created


def selected(collections: list[RemoteCollection], explicit: dict[str, str]) -> list[RemoteCollection]:
    if not explicit:
        return collections
    wanted = {url.rstrip("/") for url in explicit}
    return [collection for collection in collections if collection.url.rstrip("/") in wanted]
