"""Repairs that let a refused object land without changing what it means.

Servers validate harder than RFC 5545 and RFC 6350 ask (Cyrus through libical refuses an empty
``CATEGORIES:``, an event whose end is not after its start, a vCard 3.0 without ``N``, vCard 2.1).
After such a refusal the sync engine asks ``repair_item`` for a minimally changed copy, writes
that, and reports every repair; with a job's ``strict`` option it reports the refusal instead.

Pure and byte-careful: only the content lines a repair touches change; every other line, its
folding included, is copied as it was. Each repair is a small function of the parsed lines and
names itself in the returned notes.
"""

from __future__ import annotations

import quopri
import re
import uuid
from dataclasses import dataclass
from datetime import date, timedelta

__all__ = ["Repaired", "repair_item"]

# RFC 5545 text may be empty, and servers that refuse empty enumerations take these.
MAY_BE_EMPTY = frozenset({"SUMMARY", "DESCRIPTION", "LOCATION", "COMMENT", "URL"})
ITEM_COMPONENTS = frozenset({"VEVENT", "VTODO", "VJOURNAL"})
_DURATION = re.compile(r"([+-])?P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?")
_NAME_END = re.compile(r"[;:]")
BROKEN = "\x00broken"  # the physical line of a content line that must be written anew
_IN_PARAMETER = re.compile(r"[A-Za-z0-9.-]+;[^:]*=[^;]*\Z")


@dataclass(frozen=True, slots=True)
class Repaired:
    """The repaired copy and what was done to it; ``repairs`` is empty when nothing needed doing."""

    data: bytes
    repairs: tuple[str, ...] = ()


class _Line:
    """One content line: its physical lines as found (kept when untouched) and its unfolded text."""

    __slots__ = ("physical", "text")

    def __init__(self, physical: list[str], text: str | None = None) -> None:
        self.physical = physical
        self.text = physical[0] + "".join(part[1:] for part in physical[1:]) if text is None else text

    @classmethod
    def new(cls, text: str) -> _Line:
        return cls(_fold(text))

    @property
    def name(self) -> str:
        match = _NAME_END.search(self.text)
        return (self.text[: match.start()] if match else self.text).upper().rsplit(".", 1)[-1]

    @property
    def head(self) -> str:
        return _split_value(self.text)[0]

    @property
    def value(self) -> str:
        return _split_value(self.text)[1]

    @property
    def params(self) -> list[str]:
        return _params(self.head)


def repair_item(data: bytes, *, seed: str) -> Repaired:
    """A copy of ``data`` with what servers refuse repaired. ``seed`` (the source href) makes an
    added UID the same on every run, so a repaired object is written once, not once per run."""
    text = data.decode("utf-8", errors="replace")
    lines = _parse(text)
    if not lines:
        return Repaired(data)
    first = lines[0].text.strip().upper()
    notes: list[str] = []
    broken = [index for index, line in enumerate(lines) if line.physical == [BROKEN]]
    if broken:
        lines = [_Line.new(line.text) if line.physical == [BROKEN] else line for line in lines]
        notes.append("line breaks inside a parameter value became ^n (RFC 6868)")
    if first == "BEGIN:VCALENDAR":
        lines = _repair_calendar(lines, seed, notes)
    elif first == "BEGIN:VCARD":
        lines = _repair_vcard(lines, seed, notes)
    if not notes:
        return Repaired(data)
    return Repaired(("\r\n".join(part for line in lines for part in line.physical) + "\r\n").encode(), tuple(notes))


# --- parsing -----------------------------------------------------------------------------------


def _parse(text: str) -> list[_Line]:
    physical = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    lines: list[_Line] = []
    group: list[str] = []
    broken = False  # the group's first line was joined across raw line breaks

    def close() -> None:
        if group:
            line = _Line(group)
            lines.append(_Line([BROKEN], line.text) if broken else line)

    for raw in physical:
        if group and raw[:1] in (" ", "\t"):
            group.append(raw)
            continue
        if group and len(group) == 1 and _before_value(group[0]):
            # A raw line break inside a parameter value (DAViCal turns the "\n" of an ADR's
            # LABEL into one): RFC 6868 spells it ^n.
            group[0] += "^n" + raw
            broken = True
            continue
        head = group[0].upper() if group else ""
        # vCard 2.1: a quoted-printable value goes on after a trailing "=" (a soft line break),
        # and a BASE64 value runs over unindented lines until a blank one.
        if group and "QUOTED-PRINTABLE" in head and group[-1].endswith("="):
            group[-1] = group[-1][:-1]
            group.append(" " + raw)
            continue
        if group and "BASE64" in head and raw.strip() and ":" not in raw:
            group.append(" " + raw.strip())
            continue
        close()
        group, broken = ([raw] if raw else []), False
    close()
    return lines


def _fold(text: str, limit: int = 75) -> list[str]:
    """RFC 5545 section 3.1 / RFC 6350 section 3.2: lines of at most 75 octets, never splitting a
    UTF-8 character."""
    parts, current, size = [], "", 0
    for char in text:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            parts.append(current)
            current, size = " ", 1
        current += char
        size += width
    parts.append(current)
    return parts


def _before_value(text: str) -> bool:
    """The line ends inside a parameter value, before its value began."""
    if not _IN_PARAMETER.match(text):
        return False
    in_quotes = False
    for char in text:
        if char == '"':
            in_quotes = not in_quotes
        elif char == ":" and not in_quotes:
            return False
    return True


def _split_value(line: str) -> tuple[str, str]:
    in_quotes = False
    for position, char in enumerate(line):
        if char == '"':
            in_quotes = not in_quotes
        elif char == ":" and not in_quotes:
            return line[:position], line[position + 1 :]
    return line, ""


def _params(head: str) -> list[str]:
    parts, current, in_quotes = [], "", False
    for char in head:
        if char == '"':
            in_quotes = not in_quotes
        if char == ";" and not in_quotes:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return parts[1:]


def _stable_uid(seed: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"calsync-repair:{seed}"))


# --- iCalendar ---------------------------------------------------------------------------------


def _repair_calendar(lines: list[_Line], seed: str, notes: list[str]) -> list[_Line]:
    lines = _drop_empty_properties(lines, notes)
    out: list[_Line] = []
    component: list[_Line] = []
    depth_kind: list[str] = []
    for line in lines:
        name = line.name
        if name == "BEGIN":
            depth_kind.append(line.value.strip().upper())
        if depth_kind and depth_kind[0] == "VCALENDAR" and len(depth_kind) >= 2 and depth_kind[1] in ITEM_COMPONENTS:
            component.append(line)
        else:
            out.append(line)
        if name == "END" and depth_kind:
            depth_kind.pop()
            if len(depth_kind) == 1 and component:
                out.extend(_repair_component(component, seed, notes))
                component = []
    return out


def _drop_empty_properties(lines: list[_Line], notes: list[str]) -> list[_Line]:
    kept, dropped = [], []
    for line in lines:
        name = line.name
        if name not in ("BEGIN", "END") and name not in MAY_BE_EMPTY and not line.value.strip():
            dropped.append(name)
        else:
            kept.append(line)
    if dropped:
        notes.append(f"removed empty {', '.join(sorted(set(dropped)))}")
    return kept


def _repair_component(lines: list[_Line], seed: str, notes: list[str]) -> list[_Line]:
    """One VEVENT/VTODO/VJOURNAL (with its VALARMs): its own properties are those at depth 1."""
    kind = lines[0].value.strip().upper()
    own = _own_properties(lines)
    if "UID" not in own:
        lines = [lines[0], _Line.new(f"UID:{_stable_uid(seed)}"), *lines[1:]]
        notes.append(f"added the missing UID of a {kind}")
        own = _own_properties(lines)
    if kind == "VEVENT" and "DTSTART" in own:
        lines = _repair_event_end(lines, own, notes)
    return lines


def _own_properties(lines: list[_Line]) -> dict[str, int]:
    depth, own = 0, dict[str, int]()
    for index, line in enumerate(lines):
        name = line.name
        if name == "BEGIN":
            depth += 1
        elif name == "END":
            depth -= 1
        elif depth == 1:
            own.setdefault(name, index)
    return own


def _is_date(line: _Line) -> bool:
    return any(param.upper() == "VALUE=DATE" for param in line.params) or bool(re.fullmatch(r"\d{8}", line.value))


def _repair_event_end(lines: list[_Line], own: dict[str, int], notes: list[str]) -> list[_Line]:
    """RFC 5545 section 3.6.1: an event ends after it starts. Servers refuse one that does not (or
    that leaves its end implicit, or gives an all-day event an hour-long duration)."""
    start = lines[own["DTSTART"]]
    end_at, duration_at = own.get("DTEND"), own.get("DURATION")
    replacement: str | None = None
    if _is_date(start):
        if end_at is not None and _date_of(lines[end_at].value) <= _date_of(start.value):
            day_after = _date_of(start.value) + timedelta(days=1)
            replacement = f"DTEND;VALUE=DATE:{day_after:%Y%m%d}"
            note = "an all-day event's end was not after its start: it ends the next day (its RFC 5545 meaning)"
        elif duration_at is not None and _duration_seconds(lines[duration_at].value) % 86400:
            days = max(1, -(-max(0, _duration_seconds(lines[duration_at].value)) // 86400))
            replacement = f"DURATION:P{days}D"
            note = f"an all-day event's duration {lines[duration_at].value.strip()} became whole days (P{days}D)"
        elif duration_at is not None and _duration_seconds(lines[duration_at].value) <= 0:
            replacement, note = "DURATION:P1D", "an all-day event's zero duration became one day"
    else:
        open_ended = end_at is None and duration_at is None
        inverted = end_at is not None and _not_after(lines[end_at], start)
        empty = duration_at is not None and _duration_seconds(lines[duration_at].value) <= 0
        if open_ended or inverted or empty:
            replacement = "DURATION:PT1S"
            what = "had no end" if open_ended else "ended at or before its start"
            note = f"an event that {what} lasts one second"
    if replacement is None:
        return lines
    notes.append(note)
    replaced: set[int]
    if replacement.startswith("DTEND"):
        replaced = {end_at} if end_at is not None else set()
    else:
        replaced = {at for at in (end_at, duration_at) if at is not None}
    at = min(replaced) if replaced else own["DTSTART"] + 1
    kept = [line for position, line in enumerate(lines[:at]) if position not in replaced]
    rest = [line for position, line in enumerate(lines) if position >= at and position not in replaced]
    return [*kept, _Line.new(replacement), *rest]


def _date_of(value: str) -> date:
    digits = value.strip()[:8]
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        return date.min


def _not_after(end: _Line, start: _Line) -> bool:
    # Comparable as text only in the same zone (same TZID, both UTC or both floating); with two
    # zones the order is not knowable without their definitions, so nothing is changed.
    zone = [p.upper() for p in start.params if p.upper().startswith("TZID=")]
    if zone != [p.upper() for p in end.params if p.upper().startswith("TZID=")]:
        return False
    a, b = end.value.strip(), start.value.strip()
    if a.endswith("Z") != b.endswith("Z") or len(a) != len(b):
        return False
    return a <= b


def _duration_seconds(value: str) -> int:
    match = _DURATION.fullmatch(value.strip().upper())
    if not match:
        return 1  # not understood: leave it alone
    sign, weeks, days, hours, minutes, seconds = match.groups()
    total = ((int(weeks or 0) * 7 + int(days or 0)) * 24 + int(hours or 0)) * 3600
    total += int(minutes or 0) * 60 + int(seconds or 0)
    return -total if sign == "-" else total


# --- vCard -------------------------------------------------------------------------------------


def _repair_vcard(lines: list[_Line], seed: str, notes: list[str]) -> list[_Line]:
    version_at = next((i for i, line in enumerate(lines) if line.name == "VERSION"), None)
    version = lines[version_at].value.strip() if version_at is not None else ""
    if version == "2.1":
        lines = _vcard_21_to_30(lines, notes)
        version = "3.0"
    present = {line.name for line in lines}
    added: list[_Line] = []
    if "FN" not in present and version in ("3.0", "4.0"):
        added.append(_Line.new(f"FN:{_formatted_name(lines)}"))
        notes.append("added FN (required) from the other names")
    if "N" not in present and version == "3.0":
        added.append(_Line.new("N:;;;;"))
        notes.append("added an empty N (required by vCard 3.0)")
    if "UID" not in present:
        prefix = "urn:uuid:" if version == "4.0" else ""
        added.append(_Line.new(f"UID:{prefix}{_stable_uid(seed)}"))
        notes.append("added the missing UID")
    if not added:
        return lines
    at = next((i + 1 for i, line in enumerate(lines) if line.name == "VERSION"), 1)
    return [*lines[:at], *added, *lines[at:]]


def _formatted_name(lines: list[_Line]) -> str:
    by_name = {line.name: line.value for line in reversed(lines)}
    parts = [part.strip() for part in by_name.get("N", "").split(";")]
    # N is family;given;additional;prefix;suffix, FN reads prefix given additional family suffix.
    ordered = [parts[i] for i in (3, 1, 2, 0, 4) if i < len(parts) and parts[i]]
    for candidate in (" ".join(ordered), by_name.get("ORG", "").split(";")[0], by_name.get("EMAIL", "")):
        if candidate.strip():
            return candidate.strip()
    return by_name.get("TEL", "").strip()


def _vcard_21_to_30(lines: list[_Line], notes: list[str]) -> list[_Line]:
    """vCard 2.1 (versit) → 3.0 (RFC 2426): bare type parameters become TYPE=, quoted-printable
    values are decoded, BASE64 becomes b. The values say the same thing in the newer syntax."""
    out = []
    for line in lines:
        if line.name == "VERSION":
            out.append(_Line.new("VERSION:3.0"))
            continue
        head, value = line.head, line.value
        params = _params(head)
        if not params:
            out.append(line)
            continue
        name = head.split(";", 1)[0]
        kept, types, charset, quoted = [], [], "utf-8", False
        for param in params:
            key, eq, val = param.partition("=")
            upper = key.strip().upper()
            if not eq:
                types.append(key.strip().lower())
            elif upper == "TYPE":
                types.extend(part.lower() for part in val.split(","))
            elif upper == "CHARSET":
                charset = val.strip() or "utf-8"
            elif upper == "ENCODING" and val.strip().upper() == "QUOTED-PRINTABLE":
                quoted = True
            elif upper == "ENCODING" and val.strip().upper() == "BASE64":
                kept.append("ENCODING=b")
            else:
                kept.append(param)
        if quoted:
            value = _decode_quoted_printable(value, charset)
        if types:
            kept.insert(0, "TYPE=" + ",".join(types))
        out.append(_Line.new(";".join([name, *kept]) + ":" + value))
    notes.append("converted vCard 2.1 to 3.0")
    return out


def _decode_quoted_printable(value: str, charset: str) -> str:
    raw = quopri.decodestring(value.encode("latin-1", errors="replace"))
    try:
        decoded = raw.decode(charset)
    except (LookupError, UnicodeDecodeError):
        decoded = raw.decode("latin-1")
    # vCard 3.0 text escapes line breaks (RFC 2426 section 4).
    return decoded.replace("\r\n", "\n").replace("\n", "\\n")
