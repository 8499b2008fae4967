"""Read a migration's user list (CSV) in memory, row by row, into users and clear errors.

Pure: no Django. Columns (a header line names them, in any order): ``source_user``,
``source_password``, ``destination_user``, ``destination_password``. A side whose server is
reached with an admin login needs no password column. Errors name the row (the file's line
number), the column and the reason, never a cell's value: a password typed into the wrong column
must not come back in an error message.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field

COLUMNS = ("source_user", "source_password", "destination_user", "destination_password")
USER_MAX = 200
PASSWORD_MAX = 1000


@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    reason: str

    def as_dict(self) -> dict[str, object]:
        return {"row": self.row, "column": self.column, "reason": self.reason}


@dataclass(frozen=True)
class UserRow:
    row: int
    source_user: str
    source_password: str = field(repr=False)
    destination_user: str
    destination_password: str = field(repr=False)


@dataclass
class Parsed:
    rows: list[UserRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


class UnreadableFile(ValueError):
    """The upload is not a CSV user list at all (encoding, header); nothing of it is used."""


def _decode(data: bytes | str) -> str:
    if isinstance(data, str):
        return data.removeprefix("\ufeff")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UnreadableFile("the file is not UTF-8 text") from None


def _dialect(first_line: str) -> str:
    # Spreadsheets in many locales save CSV with semicolons.
    return ";" if first_line.count(";") > first_line.count(",") else ","


def _bad_text(value: str) -> bool:
    return any(ord(char) < 32 or ord(char) == 127 for char in value)


def parse_users(
    data: bytes | str, *, passwords: tuple[bool, bool] = (True, True), known: tuple[set[str], set[str]] = (set(), set())
) -> Parsed:
    """Rows and errors of an upload. ``passwords`` says which side needs a password per user (no
    admin login); ``known`` holds the source and destination users the migration already has."""
    text = _decode(data)
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise UnreadableFile("the file is empty; the first line names the columns: " + ", ".join(COLUMNS))
    reader = csv.reader(io.StringIO(text), delimiter=_dialect(lines[0]), strict=True)
    header = _header(reader, passwords)
    parsed = Parsed()
    seen: tuple[dict[str, int], dict[str, int]] = ({}, {})
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error:
            parsed.errors.append(RowError(reader.line_num, "", "not valid CSV (an unclosed quote?)"))
            continue
        row = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(header):
            parsed.errors.append(RowError(row, "", f"expected {len(header)} fields, found {len(cells)}"))
            continue
        values = dict(zip(header, cells, strict=True))
        errors = _row_errors(row, values, passwords)
        _add_duplicate_errors(errors, row, values, seen=seen, known=known)
        if errors:
            parsed.errors += errors
            continue
        seen[0][values[COLUMNS[0]].strip()] = row
        seen[1][values[COLUMNS[2]].strip()] = row
        parsed.rows.append(
            UserRow(
                row,
                values[COLUMNS[0]].strip(),
                values.get(COLUMNS[1], ""),
                values[COLUMNS[2]].strip(),
                values.get(COLUMNS[3], ""),
            )
        )
    return parsed


def _header(reader: Iterator[list[str]], passwords: tuple[bool, bool]) -> list[str]:
    """The column names of the first line, lower-cased; every column needed, none unknown or twice."""
    try:
        header = [name.strip().lower() for name in next(reader)]
    except csv.Error:
        raise UnreadableFile("the first line is not CSV") from None
    needed = [COLUMNS[0], COLUMNS[2]] + [name for name, need in zip(COLUMNS[1::2], passwords, strict=True) if need]
    missing = [name for name in needed if name not in header]
    unknown = [name for name in header if name not in COLUMNS]
    if missing or unknown or len(set(header)) != len(header):
        problems = [f"missing {', '.join(missing)}"] if missing else []
        problems += [f"unknown {', '.join(unknown)}"] if unknown else []
        problems += ["a column named twice"] if len(set(header)) != len(header) else []
        raise UnreadableFile(f"the header line must name the columns {', '.join(COLUMNS)} ({'; '.join(problems)})")
    return header


def _add_duplicate_errors(
    errors: list[RowError],
    row: int,
    values: dict[str, str],
    *,
    seen: tuple[dict[str, int], dict[str, int]],
    known: tuple[set[str], set[str]],
) -> None:
    """A user named on an earlier row, or already in the migration, is refused (unless the name itself is)."""
    for column, users, taken in ((COLUMNS[0], seen[0], known[0]), (COLUMNS[2], seen[1], known[1])):
        name = values[column].strip()
        if not name or any(error.column == column for error in errors):
            continue
        if name in taken:
            errors.append(RowError(row, column, "this user is already in the migration"))
        elif name in users:
            errors.append(RowError(row, column, f"duplicate of row {users[name]}"))


def _row_errors(row: int, values: dict[str, str], passwords: tuple[bool, bool]) -> list[RowError]:
    errors = []
    for column in (COLUMNS[0], COLUMNS[2]):
        name = values[column].strip()
        if not name:
            errors.append(RowError(row, column, "empty: a user name is required"))
        elif len(name) > USER_MAX:
            errors.append(RowError(row, column, f"longer than {USER_MAX} characters"))
        elif _bad_text(name):
            errors.append(RowError(row, column, "contains control characters"))
    for column, needed in zip(COLUMNS[1::2], passwords, strict=True):
        secret = values.get(column, "")
        if needed and not secret:
            errors.append(RowError(row, column, "empty: a password or app password is required"))
        elif len(secret) > PASSWORD_MAX:
            errors.append(RowError(row, column, f"longer than {PASSWORD_MAX} characters"))
        elif _bad_text(secret):
            errors.append(RowError(row, column, "contains control characters"))
        elif secret and not needed:
            errors.append(RowError(row, column, "not used: this side signs in with the migration's admin login"))
    return errors
