"""Protocol errors carry the status and the precondition element the RFCs name for them."""

from __future__ import annotations

from calsync.lib.davxml import Node, caldav, dav


class DavError(Exception):
    """Answered as ``status`` with ``<D:error><condition/></D:error>`` when a condition is named."""

    def __init__(self, status: int, message: str, *, condition: str | None = None, detail: tuple[Node, ...] = ()):
        super().__init__(message)
        self.status = status
        self.message = message
        self.condition = condition
        self.detail = detail


def forbidden(message: str, condition: str | None = None, *detail: Node) -> DavError:
    return DavError(403, message, condition=condition, detail=detail)


def conflict(message: str, condition: str | None = None) -> DavError:
    return DavError(409, message, condition=condition)


def precondition_failed(message: str = "The resource changed since you read it.") -> DavError:
    return DavError(412, message)


def not_found(message: str = "No such resource.") -> DavError:
    return DavError(404, message)


def bad_request(message: str) -> DavError:
    return DavError(400, message)


# Names travel in URLs and in XML, which cannot carry control characters: no RFC names a
# precondition for this, so it is calsync's own (RFC 4918 section 16 allows that).
VALID_NAME = "{http://calsync.invalid/ns/}valid-resource-name"


# A body that is not XML, or XML that cannot carry what it says (a control character as a
# character reference): calsync's own condition too, so a client gets a DAV:error it can show.
WELL_FORMED_XML = "{http://calsync.invalid/ns/}well-formed-xml"


def bad_name(message: str) -> DavError:
    return DavError(400, message, condition=VALID_NAME)


def has_control_characters(text: str) -> bool:
    """C0 and C1 controls and DEL: NUL above all, which PostgreSQL text cannot hold."""
    return any(ord(char) < 0x20 or 0x7F <= ord(char) < 0xA0 for char in text)


def invalid_object(message: str) -> DavError:
    return forbidden(message, caldav("valid-calendar-data"))


def need_privileges(message: str = "You may only read this calendar.") -> DavError:
    return forbidden(message, dav("need-privileges"))
