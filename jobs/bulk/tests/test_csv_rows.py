"""The user list is read row by row: clear errors with row and column, never a password."""

from __future__ import annotations

import pytest

from jobs.bulk.csvrows import UnreadableFile, parse_users

HEADER = "source_user,source_password,destination_user,destination_password\n"


def test_it_reads_every_good_row_and_refuses_each_bad_one_with_row_column_and_reason() -> None:
    text = HEADER + (
        "ann,Secret-Ann-1,ann@new,Secret-Ann-2\n"
        ",Secret-Nobody,x@new,Secret-X\n"
        "bob,Secret-Bob-1,bob@new\n"
        "cy,,cy@new,Secret-Cy-2\n"
        "ann,Secret-Ann-3,ann2@new,Secret-Ann-4\n"
        "dee,Secret-Dee-1,ann@new,Secret-Dee-2\n"
        "eve,Secret-Eve-1,eve@new,Secret-Eve-2\n"
    )

    parsed = parse_users(text)

    assert [row.source_user for row in parsed.rows] == ["ann", "eve"]
    assert [(e.row, e.column) for e in parsed.errors] == [
        (3, "source_user"), (4, ""), (5, "source_password"), (6, "source_user"), (7, "destination_user"),
    ]  # fmt: skip
    assert parsed.errors[3].reason == "duplicate of row 2"
    assert "Secret" not in repr(parsed.errors) and "Secret" not in repr(parsed.rows)


def test_it_takes_semicolons_a_bom_and_columns_in_any_order() -> None:
    text = "\ufeffdestination_user;source_user;destination_password;source_password\r\nn@new;old;pw2;pw1\r\n"

    (row,) = parse_users(text.encode("utf-8")).rows

    assert (row.source_user, row.source_password, row.destination_user, row.destination_password) == (
        "old", "pw1", "n@new", "pw2",
    )  # fmt: skip


def test_a_side_with_an_admin_login_needs_no_password_and_refuses_one() -> None:
    text = "source_user,destination_user,destination_password\nann,ann@new,pw\n"
    assert len(parse_users(text, passwords=(False, True)).rows) == 1

    parsed = parse_users(HEADER + "ann,Secret-1,ann@new,pw\n", passwords=(False, True))
    assert [(e.column, e.reason[:8]) for e in parsed.errors] == [("source_password", "not used")]


def test_users_the_migration_already_has_are_refused() -> None:
    parsed = parse_users(HEADER + "ann,p,ann@new,p\n", known=({"ann"}, set()))

    assert [(e.row, e.column, e.reason) for e in parsed.errors] == [
        (2, "source_user", "this user is already in the migration")
    ]


@pytest.mark.parametrize(
    ("data", "reason"),
    [(b"", "empty"), (b"\xff\xfe\x00", "UTF-8"), (b"user,password\nann,Secret-9\n", "header line")],
)
def test_a_file_that_is_no_user_list_is_refused_whole(data: bytes, reason: str) -> None:
    with pytest.raises(UnreadableFile, match=reason) as caught:
        parse_users(data)
    assert "Secret" not in str(caught.value)
