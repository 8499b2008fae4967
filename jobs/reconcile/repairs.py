"""The repair step the engine asks after a server refused an object: repair it, or say why not.

Which refusals a repair may answer is decided by what the server said, never by which server it
is: a 400, 415 or 422, or a 403/412 naming a data precondition (RFC 4791 section 5.3.2.1, RFC
6352 section 6.3.2.1: the data is invalid, or of a type or version the server does not take).
A UID clash, a component the collection does not hold, or a permission are not the data's
fault, and no repair is tried for them. The repairs themselves are ``calsync.lib.repair``.
"""

from __future__ import annotations

from accounts.connectors.base import ItemRejected
from calsync.lib.repair import Repaired, repair_item

CALDAV = "{urn:ietf:params:xml:ns:caldav}"
CARDDAV = "{urn:ietf:params:xml:ns:carddav}"
DATA_CONDITIONS = frozenset(
    {
        f"{CALDAV}valid-calendar-data",
        f"{CALDAV}valid-calendar-object-resource",
        f"{CALDAV}supported-calendar-data",
        f"{CARDDAV}valid-address-data",
        f"{CARDDAV}supported-address-data",
    }
)
BAD_DATA_STATUSES = frozenset({400, 415, 422})


def refusal_is_about_the_data(refusal: ItemRejected) -> bool:
    if refusal.status in BAD_DATA_STATUSES:
        return True
    return refusal.status in (403, 412) and bool(refusal.conditions & DATA_CONDITIONS)


def landed_repaired(refusal: ItemRejected, data: bytes, *, seed: str, strict: bool) -> Repaired:
    """The repaired copy to write instead of ``data``; raises ``refusal`` when nothing can be
    repaired, and a refusal that names the possible repairs when the job is ``strict``."""
    if not refusal_is_about_the_data(refusal):
        raise refusal
    repaired = repair_item(data, seed=seed)
    if not repaired.repairs:
        raise refusal
    if strict:
        raise ItemRejected(
            f"{refusal}; calsync could land a repaired copy ({'; '.join(repaired.repairs)}), but the job is strict",
            status=refusal.status,
            url=refusal.url,
            conditions=refusal.conditions,
        ) from refusal
    return repaired
