"""Sync tokens after a run's own writes."""

from __future__ import annotations

from collections.abc import Iterable

from accounts.connectors.base import ItemStore, RemoteCollection
from jobs.reconcile.pair import LinkRecord


def past_own_writes(
    *,
    dest: ItemStore,
    collections: Iterable[RemoteCollection],
    tokens: dict[str, str],
    before: list[LinkRecord],
    after: list[LinkRecord],
) -> dict[str, str]:
    """Move each destination token past this run's own writes, when the server shows only those.

    The tokens were taken when the run listed the destination, before it wrote. Kept as they are,
    the next run's delta would name every object this run wrote, and re-listing and comparing
    them cost more than the whole unchanged re-run may (2,000 objects: ~0.5 s in Radicale, one
    run after each import). So the delta since the listing is read now: if every object in it is
    one this run wrote, with the ETag it recorded, or one it deleted, its new token is kept.
    Anything else (someone else's change meanwhile, a server that sends no ETags on PUT, a refused
    token) keeps the old token, and the next run sees that change as before.
    """
    written = {record.dest_href: record.dest_etag for record in after}
    deleted = {record.dest_href for record in before} - written.keys()
    advanced = dict(tokens)
    for url, collection in {c.url: c for c in collections}.items():
        if not tokens.get(url):
            continue
        listing = dest.list_items(collection, sync_token=tokens[url])
        if listing.complete or not listing.sync_token:
            continue  # the token was refused and everything listed: nothing to tell apart
        ours = all(etag and written.get(href) == etag for href, etag in listing.items.items())
        if ours and set(listing.deleted) <= deleted:
            advanced[url] = listing.sync_token
    return advanced
