"""Split an iCalendar feed into standalone objects, one per UID: pure, no I/O.

Each UID's components (the master and its RECURRENCE-ID overrides, in whatever order the feed
lists them) become one VCALENDAR carrying the VTIMEZONEs it references. The split works on
content lines, keeping the feed's bytes: it runs over thousands of events per download and must
not lose X- properties. Only three things are rewritten, because CalDAV servers and clients choke
on them: a Google ``X-WR-TIMEZONE`` (UTC times meant in that zone; fixed with the x-wr-timezone
package), Outlook's Windows time zone names (mapped to IANA), and ``METHOD`` (RFC 4791 §4.1
forbids it in stored objects).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from accounts.connectors.base import ProtocolError
from calsync.lib.items import content_hash

ITEM_KINDS = frozenset({"VEVENT", "VTODO", "VJOURNAL"})
CALENDAR_HEAD = ("VERSION", "PRODID", "CALSCALE")
_TZID_PARAM = re.compile(r';TZID=("[^"]*"|[^;:]*)', re.IGNORECASE)


def _windows_zones() -> dict[str, str]:
    from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

    return WINDOWS_TO_OLSON


class _Line:
    """One logical content line: its physical lines as sent, and the unfolded text to inspect.

    The name is read once, when the line is made: a 2,000-event feed has ~130,000 lines and the
    split asks each for its name several times (it was a third of an unchanged re-run's CPU).
    """

    __slots__ = ("name", "raw")

    def __init__(self, raw: list[str]) -> None:
        self.raw = raw
        first = raw[0]
        end = len(first)
        for separator in (";", ":"):
            found = first.find(separator, 0, end)
            if found >= 0:
                end = found
        self.name = first[:end].upper()

    @property
    def text(self) -> str:
        return self.raw[0] if len(self.raw) == 1 else self.raw[0] + "".join(part[1:] for part in self.raw[1:])

    @property
    def value(self) -> str:
        return _split_value(self.text)


def _split_value(text: str) -> str:
    if '"' not in text:
        return text.partition(":")[2]
    in_quotes = False
    for position, char in enumerate(text):
        if char == '"':
            in_quotes = not in_quotes
        elif char == ":" and not in_quotes:
            return text[position + 1 :]
    return ""


@dataclass
class _Component:
    kind: str
    lines: list[_Line] = field(default_factory=list)  # BEGIN … END, nested components included
    # Its own (not a nested component's) UID and RECURRENCE-ID, noted while parsing so that the
    # split need not walk every component's lines again.
    uid: str | None = None
    recurrence_id: str | None = None

    def note_uid(self, value: str) -> None:
        if self.uid is None:  # the first one counts, as in first()
            self.uid = value

    def note_recurrence_id(self, value: str) -> None:
        if self.recurrence_id is None:
            self.recurrence_id = value

    def first(self, name: str) -> str:
        depth = 0
        for line in self.lines[1:]:
            if line.name == "BEGIN":
                depth += 1
            elif line.name == "END":
                depth -= 1
            elif depth == 0 and line.name == name:
                return line.value.strip()
        return ""


_NOTED = {"UID": _Component.note_uid, "RECURRENCE-ID": _Component.note_recurrence_id}


@dataclass
class ParsedFeed:
    head: list[_Line]
    timezones: dict[str, _Component]
    components: list[_Component]
    name: str = ""


def _logical_lines(text: str) -> list[_Line]:
    lines: list[_Line] = []
    for physical in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if physical[:1] in (" ", "\t") and lines:
            lines[-1].raw.append(physical)
        elif physical.strip():
            lines.append(_Line([physical]))
    return lines


def looks_like_calendar(data: bytes) -> bool:
    return data.lstrip(b"\xef\xbb\xbf \t\r\n")[:15].upper() == b"BEGIN:VCALENDAR"


def answer_kind(data: bytes, content_type: str = "") -> str:
    """A description of a body that is not what was expected, without a byte of its content."""
    shape = "an HTML page" if xml_or_html(data) == "html" else "not iCalendar data"
    kind = f" (Content-Type {content_type.split(';', 1)[0].strip()[:60]})" if content_type else ""
    return f"{shape}{kind}, {len(data)} bytes"


def xml_or_html(data: bytes) -> str:
    head = data.lstrip()[:512].lower()
    if head.startswith((b"<!doctype html", b"<html")) or b"<html" in head:
        return "html"
    return "xml" if head.startswith(b"<") else ""


def parse_feed(data: bytes, *, where: str = "the feed") -> ParsedFeed:
    """Split a feed into its calendar properties, time zones and item components."""
    if not looks_like_calendar(data):
        # Say what kind of answer it was, never what it said: quoting it would let an account
        # read any page the server can reach through the error message.
        raise ProtocolError(f"{where} is not an iCalendar file: {answer_kind(data)}")
    text = data.decode("utf-8", "replace").lstrip("\ufeff")
    if re.search(r"^X-WR-TIMEZONE[;:]", text, re.IGNORECASE | re.MULTILINE):
        text = _standard_time_zones(text, where)
    feed = ParsedFeed(head=[], timezones={}, components=[])
    stack: list[_Component] = []
    for line in _logical_lines(text):
        name = line.name
        if not stack and _is_vcalendar_boundary(line):
            continue
        if name == "BEGIN":
            stack.append(_Component(line.value.strip().upper()))
        if not stack:
            _add_calendar_property(feed, line)
            continue  # METHOD and the calendar's X-WR-* properties do not belong in an object
        top = stack[-1]
        top.lines.append(line)
        if len(stack) == 1 and name in _NOTED:
            _NOTED[name](top, line.value.strip())
        if name == "END":
            _end_component(feed, stack)
    return feed


def _is_vcalendar_boundary(line: _Line) -> bool:
    return line.name in ("BEGIN", "END") and line.value.strip().upper() == "VCALENDAR"


def _add_calendar_property(feed: ParsedFeed, line: _Line) -> None:
    if line.name == "X-WR-CALNAME":
        feed.name = line.value.strip()
    if line.name in CALENDAR_HEAD:
        feed.head.append(line)


def _end_component(feed: ParsedFeed, stack: list[_Component]) -> None:
    """A nested component's lines go to its parent; a finished top-level one is filed in the feed."""
    done = stack.pop()
    if stack:
        stack[-1].lines.extend(done.lines)
    elif done.kind == "VTIMEZONE":
        feed.timezones.setdefault(_map_zone(done.first("TZID")), done)
    elif done.kind in ITEM_KINDS:
        feed.components.append(done)


def _standard_time_zones(text: str, where: str) -> str:
    """Google feeds give UTC times meant in X-WR-TIMEZONE; rewrite them in that zone."""
    import x_wr_timezone
    from icalendar import Calendar

    try:
        calendar = Calendar.from_ical(text)
        return x_wr_timezone.to_standard(calendar, add_timezone_component=True).to_ical().decode()
    except Exception as exc:  # a broken feed is the feed's problem: say so, do not crash the run
        raise ProtocolError(f"{where} could not be parsed: {exc}") from None


def _map_zone(tzid: str) -> str:
    tzid = tzid.strip('"')
    return _windows_zones().get(tzid, tzid)


def _fold(text: str) -> list[str]:
    """RFC 5545 §3.1: lines longer than 75 octets are folded (at character boundaries)."""
    if len(text.encode()) <= 75:
        return [text]
    parts, current, size = [], "", 0
    for char in text:
        width = len(char.encode())
        if size + width > (75 if not parts else 74):
            parts.append(current if not parts else " " + current)
            current, size = "", 0
        current += char
        size += width
    parts.append(current if not parts else " " + current)
    return parts


def _with_iana_zones(line: _Line) -> list[str]:
    if "TZID" not in line.raw[0].upper() and len(line.raw) == 1:
        return line.raw
    text = line.text
    if line.name == "TZID":
        mapped = f"TZID:{_map_zone(line.value.strip())}"
    else:
        mapped = _TZID_PARAM.sub(lambda m: f";TZID={_quoted(_map_zone(m.group(1)))}", text)
    return line.raw if mapped == text else _fold(mapped)


def _quoted(tzid: str) -> str:
    return f'"{tzid}"' if any(c in tzid for c in ";:,") else tzid


def _body_and_zones(component: _Component) -> tuple[list[str], set[str]]:
    """The component's physical lines (zone names mapped to IANA) and the zones it references.

    One pass, and only lines that mention TZID are unfolded and searched: most lines do not.
    """
    body: list[str] = []
    zones: set[str] = set()
    for line in component.lines:
        raw = line.raw
        if len(raw) == 1 and "TZID" not in raw[0].upper():
            body.append(raw[0])
            continue
        text = line.text
        if "TZID" not in text.upper():
            body += raw
            continue
        zones.update(_map_zone(m.group(1)) for m in _TZID_PARAM.finditer(text))
        body += _with_iana_zones(line)
    return body, zones


@dataclass(frozen=True, slots=True)
class FeedItem:
    uid: str
    data: bytes


def split_feed(feed: ParsedFeed) -> list[FeedItem]:
    """One standalone VCALENDAR per UID: master first, then its overrides in RECURRENCE-ID order."""
    by_uid: dict[str, list[tuple[str, list[str]]]] = {}
    zones: dict[str, set[str]] = {}
    for component in feed.components:
        body, referenced = _body_and_zones(component)
        uid = component.uid or ""
        if not uid:
            # Stable across downloads (volatile properties are not hashed), so the item keeps its
            # href and the destination its event.
            uid = "calsync-" + content_hash("\r\n".join(body).encode())
            body.insert(1, f"UID:{uid}")
        order = component.recurrence_id or ""
        by_uid.setdefault(uid, []).append((order, body))
        zones.setdefault(uid, set()).update(referenced)
    head = [part for line in feed.head for part in line.raw]
    if not any(line.name == "VERSION" for line in feed.head):
        head.insert(0, "VERSION:2.0")
    if not any(line.name == "PRODID" for line in feed.head):
        head.append("PRODID:-//calsync//ICS feed import//EN")
    items = []
    zone_lines: dict[str, list[str]] = {}  # each zone is copied into many items: render it once
    for uid, parts in by_uid.items():
        lines = ["BEGIN:VCALENDAR", *head]
        for tzid in sorted(zones[uid]):
            if tzid not in zone_lines:
                zone_lines[tzid] = _zone_lines(feed, tzid)
            lines += zone_lines[tzid]
        for _order, body in sorted(parts, key=lambda part: (part[0] != "", part[0])):
            lines += body
        lines.append("END:VCALENDAR")
        items.append(FeedItem(uid, ("\r\n".join(lines) + "\r\n").encode()))
    return items


def _zone_lines(feed: ParsedFeed, tzid: str) -> list[str]:
    zone = feed.timezones.get(tzid)
    if zone is not None:
        return [part for line in zone.lines for part in _with_iana_zones(line)]
    generated = _generated_zone(tzid)
    if generated:
        feed.timezones[tzid] = _Component("VTIMEZONE", _logical_lines(generated))
        return _zone_lines(feed, tzid)
    return []


def _generated_zone(tzid: str) -> str:
    """A VTIMEZONE for an IANA zone the feed names without defining it (RFC 5545 requires one)."""
    from icalendar import Timezone

    try:
        return Timezone.from_tzid(tzid).to_ical().decode()
    except Exception:  # not an IANA name either: leave the reference as the feed wrote it
        return ""
