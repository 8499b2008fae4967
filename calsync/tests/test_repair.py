"""Repairs that let an object a server refused land, each shown on the smallest object that needs it.

The same repairs against the server that needs them (Cyrus) are in
jobs/tests/test_repair_real_servers.py.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from calsync.lib.items import content_hash, extract_uid
from calsync.lib.repair import repair_item


def calendar(body: str, *, uid: str = "UID:ev-1\r\n") -> bytes:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
        f"{uid}DTSTAMP:20250101T000000Z\r\n{body}SUMMARY:Planning\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    ).encode()


def card(body: str, version: str = "3.0") -> bytes:
    return f"BEGIN:VCARD\r\nVERSION:{version}\r\n{body}END:VCARD\r\n".encode()


def lines(data: bytes) -> list[str]:
    return data.decode().split("\r\n")


def test_it_leaves_a_valid_object_byte_for_byte_alone():
    data = calendar("DTSTART:20250301T090000Z\r\nDTEND:20250301T100000Z\r\nX-LONG:a\r\n folded value\r\n")

    repaired = repair_item(data, seed="/cal/ev-1.ics")

    assert repaired.data is data and repaired.repairs == ()


def test_it_removes_empty_categories_and_class_and_keeps_empty_text():
    data = calendar("DTSTART:20250301T090000Z\r\nDTEND:20250301T100000Z\r\nCATEGORIES:\r\nCLASS:\r\nDESCRIPTION:\r\n")

    repaired = repair_item(data, seed="s")

    assert "CATEGORIES:" not in lines(repaired.data) and "CLASS:" not in lines(repaired.data)
    assert "DESCRIPTION:" in lines(repaired.data)
    assert repaired.repairs == ("removed empty CATEGORIES, CLASS",)


def test_it_keeps_untouched_lines_and_their_folding():
    data = calendar("DTSTART:20250301T090000Z\r\nDTEND:20250301T100000Z\r\nCLASS:\r\nX-NOTE:one\r\n two\r\n")

    repaired = repair_item(data, seed="s")

    assert b"X-NOTE:one\r\n two\r\n" in repaired.data
    assert repaired.data == data.replace(b"CLASS:\r\n", b"")


def test_an_event_without_an_end_lasts_one_second_right_after_its_start():
    repaired = repair_item(calendar("DTSTART;TZID=Europe/Berlin:20250301T090000\r\n"), seed="s")

    assert "DTSTART;TZID=Europe/Berlin:20250301T090000\r\nDURATION:PT1S" in repaired.data.decode()
    assert repaired.repairs == ("an event that had no end lasts one second",)


def test_an_end_at_or_before_the_start_is_replaced_by_a_one_second_duration():
    for end in ("20250301T090000Z", "20250301T080000Z"):
        repaired = repair_item(calendar(f"DTSTART:20250301T090000Z\r\nDTEND:{end}\r\n"), seed="s")

        assert "DTEND" not in repaired.data.decode() and "DURATION:PT1S" in lines(repaired.data)
        assert repaired.repairs == ("an event that ended at or before its start lasts one second",)


def test_ends_in_other_zones_are_not_judged():
    data = calendar("DTSTART;TZID=Europe/Berlin:20250301T090000\r\nDTEND;TZID=America/New_York:20250301T040000\r\n")

    assert repair_item(data, seed="s").repairs == ()


def test_an_all_day_event_ending_on_its_start_day_ends_the_next_day():
    data = calendar("DTSTART;VALUE=DATE:20250228\r\nDTEND;VALUE=DATE:20250228\r\n")

    repaired = repair_item(data, seed="s")

    assert "DTEND;VALUE=DATE:20250301" in lines(repaired.data)


def test_an_all_day_event_with_an_hour_long_duration_lasts_whole_days():
    short = repair_item(calendar("DTSTART;VALUE=DATE:20250301\r\nDURATION:PT1H\r\n"), seed="s")
    long = repair_item(calendar("DTSTART;VALUE=DATE:20250301\r\nDURATION:P1DT2H\r\n"), seed="s")
    fine = repair_item(calendar("DTSTART;VALUE=DATE:20250301\r\nDURATION:P2D\r\n"), seed="s")
    open_ended = repair_item(calendar("DTSTART;VALUE=DATE:20250301\r\n"), seed="s")

    assert "DURATION:P1D" in lines(short.data) and "DURATION:PT1H" not in lines(short.data)
    assert "DURATION:P2D" in lines(long.data)
    assert fine.repairs == () and open_ended.repairs == ()  # one day, as RFC 5545 section 3.6.1 says


def test_a_missing_uid_is_added_the_same_on_every_run_and_shared_by_overrides():
    body = "DTSTART:20250301T090000Z\r\nDTEND:20250301T100000Z\r\n"
    data = calendar(body, uid="").replace(
        b"END:VCALENDAR",
        b"BEGIN:VEVENT\r\nRECURRENCE-ID:20250308T090000Z\r\nSUMMARY:Moved\r\nEND:VEVENT\r\nEND:VCALENDAR",
    )

    first, again, other = (repair_item(data, seed=seed) for seed in ("/cal/a.ics", "/cal/a.ics", "/cal/b.ics"))

    uids = [line for line in lines(first.data) if line.startswith("UID:")]
    assert len(uids) == 2 and len(set(uids)) == 1
    assert first.data == again.data and extract_uid(first.data) != extract_uid(other.data)


def test_a_vcard_3_without_n_gets_an_empty_one_and_without_fn_gets_one_from_n():
    no_n = repair_item(card("UID:c1\r\nFN:Ann Lee\r\n"), seed="s")
    no_fn = repair_item(card("UID:c2\r\nN:Lee;Ann;;Dr.;\r\n"), seed="s")
    four = repair_item(card("UID:urn:uuid:c3\r\nFN:Ann\r\n", "4.0"), seed="s")

    assert "N:;;;;" in lines(no_n.data)
    assert "FN:Dr. Ann Lee" in lines(no_fn.data)
    assert four.repairs == ()  # N is optional in vCard 4.0


def test_a_vcard_without_uid_gets_a_stable_one_in_its_version_s_form():
    three = repair_item(card("FN:Ann\r\nN:;Ann;;;\r\n"), seed="/book/x.vcf")
    four = repair_item(card("FN:Ann\r\n", "4.0"), seed="/book/x.vcf")

    assert extract_uid(three.data) and extract_uid(four.data) == "urn:uuid:" + extract_uid(three.data)


def test_a_vcard_2_1_becomes_3_0_with_typed_parameters_and_decoded_values():
    data = card(
        "N:Lee;Ann\r\nFN:Ann Lee\r\nTEL;HOME;VOICE:+49 30 1234\r\n"
        "NOTE;ENCODING=QUOTED-PRINTABLE;CHARSET=UTF-8:Gr=C3=BC=C3=9Fe=0D=0Aaus =\r\nBerlin=\r\n!\r\n"
        "ADR;WORK;ENCODING=QUOTED-PRINTABLE:;;Stra=C3=9Fe 1;Berlin;;10115;\r\nUID:c21\r\n",
        "2.1",
    )

    repaired = repair_item(data, seed="s")

    text = lines(repaired.data)
    assert "VERSION:3.0" in text
    assert "TEL;TYPE=home,voice:+49 30 1234" in text
    assert "NOTE:Grüße\\naus Berlin!" in text
    assert "ADR;TYPE=work:;;Straße 1;Berlin;;10115;" in text
    assert repaired.repairs == ("converted vCard 2.1 to 3.0",)


def test_a_vcard_2_1_photo_keeps_its_base64_lines_as_one_value():
    photo = "/9j/4AAQSkZJRgABAQEASABIAAD" * 4
    data = card(
        f"N:Lee;Ann\r\nFN:Ann Lee\r\nUID:p\r\nPHOTO;JPEG;ENCODING=BASE64:{photo[:50]}\r\n{photo[50:]}\r\n\r\n", "2.1"
    )

    repaired = repair_item(data, seed="s")

    physical = lines(repaired.data)
    assert f"PHOTO;TYPE=jpeg;ENCODING=b:{photo}" in lines(repaired.data.replace(b"\r\n ", b""))
    assert max(len(line) for line in physical) <= 75


PROPERTY = st.sampled_from(
    ["CATEGORIES:\r\n", "CLASS:\r\n", "CLASS:PRIVATE\r\n", "X-A:\r\n", "LOCATION:\r\n", "X-B:b\r\n"]
)
TIMES = st.sampled_from(
    [
        "DTSTART:20250301T090000Z\r\n",
        "DTSTART:20250301T090000Z\r\nDTEND:20250301T090000Z\r\n",
        "DTSTART:20250301T090000Z\r\nDTEND:20250301T100000Z\r\n",
        "DTSTART;VALUE=DATE:20250301\r\nDURATION:PT3H\r\n",
        "DTSTART;VALUE=DATE:20250301\r\nDTEND;VALUE=DATE:20250201\r\n",
        "DTSTART:20250301T090000Z\r\nDURATION:-PT1H\r\n",
    ]
)


@given(times=TIMES, extra=st.lists(PROPERTY, max_size=4), with_uid=st.booleans())
def test_a_repaired_object_needs_no_second_repair_and_keeps_its_other_properties(times, extra, with_uid):
    data = calendar(times + "".join(extra), uid="UID:ev\r\n" if with_uid else "")

    repaired = repair_item(data, seed="s")
    again = repair_item(repaired.data, seed="s")

    assert again.repairs == () and again.data == repaired.data
    kept = {line for line in extra if line.split(":", 1)[1].strip() or line.startswith("LOCATION")}
    assert all(line.encode() in repaired.data for line in kept)
    assert (content_hash(repaired.data) == content_hash(data)) == (repaired.repairs == ())


def test_raw_line_breaks_inside_a_parameter_become_rfc_6868_carets():
    # How DAViCal serves a vCard 4.0 ADR whose LABEL held "\n"; Radicale refuses it (400).
    quoted = card('ADR;LABEL="Via Roma 10\r\n00100 Roma\r\nItaly":\r\n ;;Via Roma 10;Roma\r\nUID:u\r\nFN:S\r\n', "4.0")
    bare = card("ADR;LABEL=Via Roma 10\r\n00100 Roma\r\nItaly;TYPE=work:;;Via Roma 10\r\nUID:u\r\nFN:S\r\n", "4.0")

    repaired, repaired_bare = repair_item(quoted, seed="s"), repair_item(bare, seed="s")

    text = lines(repaired.data.replace(b"\r\n ", b""))
    assert 'ADR;LABEL="Via Roma 10^n00100 Roma^nItaly":;;Via Roma 10;Roma' in text
    assert "ADR;LABEL=Via Roma 10^n00100 Roma^nItaly;TYPE=work:;;Via Roma 10" in lines(repaired_bare.data)
    assert repaired.repairs == ("line breaks inside a parameter value became ^n (RFC 6868)",)


def test_a_quoted_parameter_folded_in_the_middle_is_not_a_broken_line():
    data = card('X-A;X-P="a long quoted\r\n  value":x\r\nUID:u\r\nFN:S\r\nN:;;;;\r\n')

    assert repair_item(data, seed="s").repairs == ()


def test_a_line_without_a_value_does_not_swallow_the_next_one():
    data = card("X-GARBAGE\r\nUID:u\r\nFN:S\r\nN:;;;;\r\n")

    assert repair_item(data, seed="s").repairs == ()
