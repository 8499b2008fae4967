from hypothesis import given
from hypothesis import strategies as st

from calsync.lib.items import component_kinds, content_hash, extract_uid, strip_method, unfolded_lines

EVENT = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Google Inc//Google Calendar 70.9054//EN\r\n"
    "BEGIN:VEVENT\r\nUID:abc-123@example.com\r\nDTSTAMP:20260101T000000Z\r\nSEQUENCE:0\r\n"
    "DTSTART;TZID=Europe/Berlin:20260310T090000\r\nSUMMARY:Planning\r\nX-CUSTOM;X-P=1:kept\r\n"
    "BEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT15M\r\nEND:VALARM\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)


def fold(text: str, width: int) -> str:
    """Fold every content line at ``width`` characters, as RFC 5545 §3.1 allows."""
    out = []
    for line in text.split("\r\n"):
        rest = line
        while len(rest) > width:
            out.append(rest[:width])
            rest = " " + rest[width:]
        out.append(rest)
    return "\r\n".join(out)


def test_volatile_properties_do_not_change_the_hash():
    bumped = EVENT.replace("DTSTAMP:20260101T000000Z", "DTSTAMP:20261121T101010Z").replace("SEQUENCE:0", "SEQUENCE:4")
    bumped = bumped.replace("Google Calendar 70.9054", "Google Calendar 71.0")
    assert content_hash(bumped.encode()) == content_hash(EVENT.encode())


def test_a_real_change_changes_the_hash():
    assert content_hash(EVENT.replace("Planning", "Planning!").encode()) != content_hash(EVENT.encode())
    assert content_hash(EVENT.replace("-PT15M", "-PT30M").encode()) != content_hash(EVENT.encode())
    assert content_hash(EVENT.replace("X-P=1", "X-P=2").encode()) != content_hash(EVENT.encode())


def test_property_order_and_line_endings_do_not_change_the_hash():
    reordered = EVENT.replace("SUMMARY:Planning\r\nX-CUSTOM;X-P=1:kept", "X-CUSTOM;X-P=1:kept\r\nSUMMARY:Planning")
    assert content_hash(reordered.replace("\r\n", "\n").encode()) == content_hash(EVENT.encode())


@given(width=st.integers(min_value=8, max_value=75))
def test_folding_does_not_change_the_hash_or_the_uid(width):
    folded = fold(EVENT, width).encode()
    assert content_hash(folded) == content_hash(EVENT.encode())
    assert extract_uid(folded) == "abc-123@example.com"


def test_it_reads_the_components_of_an_object():
    todo = "BEGIN:VCALENDAR\r\nBEGIN:VTODO\r\nUID:t\r\nEND:VTODO\r\nEND:VCALENDAR\r\n"
    card = "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:urn:uuid:1\r\nFN:A\r\nEND:VCARD\r\n"
    assert component_kinds(EVENT.encode()) == {"VEVENT"}
    assert component_kinds(todo.encode()) == {"VTODO"}
    assert component_kinds(card.encode()) == {"VCARD"}
    assert extract_uid(card.encode()) == "urn:uuid:1"


def test_an_object_without_uid_has_an_empty_uid():
    assert extract_uid(b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Anon\r\nEND:VCARD\r\n") == ""


def test_method_is_stripped_and_nothing_else():
    with_method = EVENT.replace("VERSION:2.0\r\n", "VERSION:2.0\r\nMETHOD:PUBLISH\r\n").encode()
    stripped = strip_method(with_method)
    assert b"METHOD" not in stripped
    assert unfolded_lines(stripped) == unfolded_lines(EVENT.encode())
    assert strip_method(EVENT.encode()) == EVENT.encode()


def test_reordered_rrule_parts_and_parameters_do_not_change_the_hash():
    a = EVENT.replace(
        "SUMMARY:Planning",
        'SUMMARY:Planning\r\nRRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=20\r\nATTENDEE;CN="Doe; John";ROLE=CHAIR:mailto:j@x.org',
    )
    b = EVENT.replace(
        "SUMMARY:Planning",
        'SUMMARY:Planning\r\nRRULE:FREQ=WEEKLY;COUNT=20;BYDAY=MO\r\nATTENDEE;ROLE=CHAIR;CN="Doe; John":mailto:j@x.org',
    )
    c = b.replace("COUNT=20", "COUNT=21")
    d = b.replace('CN="Doe; John"', 'CN="Doe; Jane"')
    assert content_hash(a.encode()) == content_hash(b.encode())
    assert content_hash(c.encode()) != content_hash(b.encode())
    assert content_hash(d.encode()) != content_hash(b.encode())
