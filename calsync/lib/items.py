"""Fast, pure inspection of iCalendar and vCard bytes: UID, component kind, a semantic hash.

These run once per object on the sync hot path (the budget is ≤ 1 ms of client CPU per object for
a whole copy), so they work on unfolded content lines instead of building an icalendar object
tree. Nothing here changes what is copied: calsync moves the server's bytes unchanged, so every
X- property, parameter, alarm and attachment survives.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache

# Properties that clients and servers rewrite without a real change (RFC 5545 §3.8.7, RFC 6350
# §6.7.4): comparing them would turn every feed download into an update.
VOLATILE_PROPERTIES = frozenset({"DTSTAMP", "LAST-MODIFIED", "PRODID", "SEQUENCE", "CREATED", "REV", "X-WR-CALNAME"})
ITEM_COMPONENTS = ("VEVENT", "VTODO", "VJOURNAL", "VFREEBUSY", "VCARD")

_FOLD = re.compile(r"\r?\n[ \t]")
_NAME_END = re.compile(r"[;:]")
_HEAD_PART = re.compile(r'(?:[^;"]|"[^"]*")+')
_RULES = frozenset({"RRULE", "EXRULE"})


def text_of(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def unfolded_lines(data: bytes | str) -> list[str]:
    """Content lines with RFC 5545 §3.1 folding undone and line endings normalised."""
    text = text_of(data) if isinstance(data, bytes) else data
    return [line for line in _FOLD.sub("", text).replace("\r\n", "\n").replace("\r", "\n").split("\n") if line]


def property_name(line: str) -> str:
    match = _NAME_END.search(line)
    name = line[: match.start()] if match else line
    # vCard groups ("item1.EMAIL") keep their group: Apple uses it to tie labels to values.
    return name.upper()


def _value(line: str) -> str:
    return line.split(":", 1)[1] if ":" in line else ""


# The sync engine asks these about the same object several times (pairing, routing, the link it
# records). Caching them by the bytes keeps that to one computation, and lets a batch compute
# everything in one warm loop before its requests, instead of between two network waits.
CACHE_SIZE = 1024


@lru_cache(maxsize=CACHE_SIZE)
def extract_uid(data: bytes) -> str:
    """The first UID of the object, or "" (vCard 3 without UID, broken feeds)."""
    for line in unfolded_lines(data):
        if property_name(line) == "UID":
            return _value(line).strip()
    return ""


@lru_cache(maxsize=CACHE_SIZE)
def component_kinds(data: bytes) -> frozenset[str]:
    """Item components present, e.g. {"VEVENT"} or {"VTODO"}; VTIMEZONE/VALARM are not items."""
    kinds = set()
    for line in unfolded_lines(data):
        if line[:6].upper() == "BEGIN:":
            name = line[6:].strip().upper()
            if name in ITEM_COMPONENTS:
                kinds.add(name)
    return frozenset(kinds)


@lru_cache(maxsize=CACHE_SIZE)
def strip_method(data: bytes) -> bytes:
    """Remove a top-level METHOD line: RFC 4791 §4.1 forbids it in stored calendar objects."""
    if b"METHOD" not in data.upper():
        return data
    text = text_of(data)
    lines = text.replace("\r\n", "\n").split("\n")
    kept = [line for line in lines if property_name(line) != "METHOD"]
    return "\r\n".join(kept).encode()


@lru_cache(maxsize=CACHE_SIZE)
def content_hash(data: bytes) -> str:
    """A hash that is equal for semantically equal objects.

    Ignores volatile properties, folding, line endings, property order and the case of property
    names, so a server that re-serialises what it stores, or a feed that bumps DTSTAMP on every
    download, does not look like a change.
    """
    path: list[str] = []
    canonical: list[str] = []
    for line in unfolded_lines(data):
        name = property_name(line)
        if name == "BEGIN":
            path.append(_value(line).strip().upper())
            continue
        if name == "END":
            if path:
                path.pop()
            continue
        if name in VOLATILE_PROPERTIES:
            continue
        canonical.append(f"{'/'.join(path)}|{_canonical(name, line)}")
    canonical.sort()
    return hashlib.blake2b("\n".join(canonical).encode(), digest_size=16).hexdigest()


def _canonical(name: str, line: str) -> str:
    """``name;params:value`` with parameters sorted and RRULE parts sorted.

    Servers that re-serialise (Xandikos through icalendar, SOGo, Google) reorder both; RFC 5545
    gives neither order a meaning.
    """
    if '"' in line:
        head, value = _split_quoted(line)
        params = _HEAD_PART.findall(head)[1:]
    else:
        head, _, value = line.partition(":")
        params = head.split(";")[1:]
    if name in _RULES:
        value = ";".join(sorted(value.upper().split(";")))
    if len(params) > 1:
        params.sort()
    return f"{name};{';'.join(params)}:{value.rstrip()}" if params else f"{name}:{value.rstrip()}"


def _split_quoted(line: str) -> tuple[str, str]:
    # RFC 5545 §3.2: a quoted parameter value may contain ":" and ";".
    in_quotes = False
    for position, char in enumerate(line):
        if char == '"':
            in_quotes = not in_quotes
        elif char == ":" and not in_quotes:
            return line[:position], line[position + 1 :]
    return line, ""
