"""Reads for booking: artists, busy time near an interval, availability and slots.

An availability check is two indexed queries (appointments, busy blocks), each an
``(artist, start)`` range scan bounded below by ``MAX_INTERVAL``; the arithmetic is pure.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from accounts.selectors import account_list_for
from booking import availability
from booking.models import MAX_INTERVAL, Appointment, Artist, ArtistCalendar, BusyBlock, artist_id_in
from calsync.visibility import sees_studio

ACTIVE_STATUSES = (Appointment.Status.PENDING, Appointment.Status.CONFIRMED)


@dataclass(frozen=True, slots=True)
class Answer:
    verdict: availability.Verdict
    degraded: bool = False
    data_age_seconds: float | None = None  # age of the busy data, when known


def artist_by_ref(*, ref: str | int, active_only: bool = True) -> Artist | None:
    """An artist by numeric id or slug."""
    artists = Artist.objects.filter(active=True) if active_only else Artist.objects.all()
    text = str(ref)
    if text.isascii() and text.isdigit():
        pk = artist_id_in(text)
        return None if pk is None else artists.filter(pk=pk).first()
    return artists.filter(slug=text).first()


@dataclass(frozen=True, slots=True)
class BusyAge:
    """Seconds since the stalest blocking calendar was pulled; ``None`` if one never was, 0 if none exist.

    ``failing``: blocking calendars whose last pull failed. Their data may still be young, but it is
    no longer known to be true, so an answer built on it is degraded at once.
    """

    seconds: float | None
    failing: int = 0


_ARTIST_COLUMNS = (
    "id",
    "name",
    "slug",
    "time_zone",
    "working_hours",
    "buffer_minutes",
    "min_notice_minutes",
    "slot_step_minutes",
)


def artist_with_busy_age(*, ref: str, now: datetime | None = None) -> tuple[Artist, BusyAge] | None:
    """An active artist by id or slug and the age of their busy data, in one query.

    The public availability answer needs both on every request; as one statement written in SQL it
    costs a fraction of two ORM querysets (the same reasoning as ``busy_near``).
    """
    ops = connection.ops
    q = ops.quote_name
    calendars = q(ArtistCalendar._meta.db_table)
    blocking = f"FROM {calendars} c WHERE c.artist_id = a.id AND c.blocks_time"
    by_id = ref.isascii() and ref.isdigit()
    pk = artist_id_in(ref) if by_id else None
    if by_id and pk is None:
        return None  # more digits than any id has: no such artist (and no integer overflow)
    by = "a.id" if by_id else "a.slug"
    # Only quoted identifiers and fixed text are interpolated; the reference is a parameter.
    sql = (
        f"SELECT {', '.join('a.' + q(column) for column in _ARTIST_COLUMNS)}, "  # noqa: S608
        f"(SELECT COUNT(*) {blocking}), (SELECT COUNT(*) {blocking} AND c.last_pulled_at IS NULL), "
        f"(SELECT MIN(c.last_pulled_at) {blocking}), (SELECT COUNT(*) {blocking} AND NOT c.last_pull_ok) "
        f"FROM {q(Artist._meta.db_table)} a WHERE a.active AND {by} = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [pk if by_id else ref])
        row = cursor.fetchone()
    if row is None:
        return None
    fields = dict(zip(_ARTIST_COLUMNS, row[: len(_ARTIST_COLUMNS)], strict=True))
    if isinstance(fields["working_hours"], str):  # SQLite hands back the JSON text
        fields["working_hours"] = json.loads(fields["working_hours"])
    artist = Artist(active=True, **fields)
    calendar_count, never_pulled, oldest, failing = row[len(_ARTIST_COLUMNS) :]
    return artist, _age(calendar_count, never_pulled, oldest, now, failing)


def artist_list_public() -> QuerySet[Artist]:
    return Artist.objects.filter(active=True).only("id", "name", "slug", "time_zone")


def artist_rules(*, artist: Artist) -> availability.Rules:
    return availability.Rules(
        time_zone=artist.time_zone,
        working_hours=availability.parse_working_hours(artist.working_hours or {}),
        buffer=timedelta(minutes=artist.buffer_minutes),
        min_notice=timedelta(minutes=artist.min_notice_minutes),
        step=timedelta(minutes=max(artist.slot_step_minutes, 5)),
    )


def busy_near(
    *, artist_id: int, start: datetime, end: datetime, exclude_appointment_id: int | None = None
) -> list[availability.Busy]:
    """Appointments and busy blocks overlapping ``[start, end)``: one query, two index range scans.

    Written as SQL because this is the hot path of every availability answer, and building two
    ORM querysets costs more than running them.
    """
    ops = connection.ops
    q = ops.quote_name
    low, high, after = (ops.adapt_datetimefield_value(value) for value in (start - MAX_INTERVAL, end, start))
    exclude = "AND id <> %s" if exclude_appointment_id is not None else ""
    # Only quoted identifiers and fixed text are interpolated; every value is a parameter.
    sql = (
        f"SELECT 'a', id, '', '', {q('start')}, {q('end')} FROM {q(Appointment._meta.db_table)} "  # noqa: S608
        f"WHERE artist_id = %s AND status IN (%s, %s) AND {q('start')} >= %s AND {q('start')} < %s "
        f"AND {q('end')} > %s {exclude} "
        f"UNION ALL SELECT 'e', 0, href, summary, {q('start')}, {q('end')} FROM {q(BusyBlock._meta.db_table)} "
        f"WHERE artist_id = %s AND {q('start')} >= %s AND {q('start')} < %s AND {q('end')} > %s"
    )
    params: list[object] = [artist_id, *ACTIVE_STATUSES, low, high, after]
    if exclude_appointment_id is not None:
        params.append(exclude_appointment_id)
    params += [artist_id, low, high, after]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [
        availability.Busy(_aware(s), _aware(e), "appointment", str(pk))
        if kind == "a"
        else availability.Busy(_aware(s), _aware(e), "event", href, summary)
        for kind, pk, href, summary, s, e in rows
    ]


def _aware(value: datetime | str) -> datetime:
    # SQLite hands back the stored UTC text; PostgreSQL an aware datetime.
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def availability_from_db(
    *,
    artist: Artist,
    start: datetime,
    end: datetime,
    now: datetime | None = None,
    exclude_appointment_id: int | None = None,
) -> availability.Verdict:
    rules = artist_rules(artist=artist)
    busy = busy_near(
        artist_id=artist.pk,
        start=start - rules.buffer,
        end=end + rules.buffer,
        exclude_appointment_id=exclude_appointment_id,
    )
    return availability.check(rules, start, end, now=now or timezone.now(), busy=busy)


def slots_from_db(*, artist: Artist, day: date, duration: timedelta, now: datetime | None = None) -> list[datetime]:
    rules = artist_rules(artist=artist)
    windows = availability.working_windows(rules, day)
    if not windows:
        return []
    low = min(w[0] for w in windows) - rules.buffer
    high = max(w[1] for w in windows) + rules.buffer
    busy = busy_near(artist_id=artist.pk, start=low, end=high)
    return availability.slots(rules, day, duration, now=now or timezone.now(), busy=busy)


def blocking_calendars(*, artist_id: int) -> QuerySet[ArtistCalendar]:
    return ArtistCalendar.objects.filter(artist_id=artist_id, blocks_time=True).select_related("account")


def busy_data_state(*, artist_id: int, now: datetime | None = None) -> BusyAge:
    """How old the artist's busy data is, and how many of their calendars failed their last pull."""
    table = connection.ops.quote_name(ArtistCalendar._meta.db_table)
    # Every availability check asks this: one aggregate in SQL, like ``busy_near``.
    sql = (
        "SELECT COUNT(*), SUM(CASE WHEN last_pulled_at IS NULL THEN 1 ELSE 0 END), MIN(last_pulled_at), "  # noqa: S608
        f"SUM(CASE WHEN NOT last_pull_ok THEN 1 ELSE 0 END) FROM {table} WHERE artist_id = %s AND blocks_time"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [artist_id])
        calendar_count, never_pulled, oldest, failing = cursor.fetchone()
    return _age(calendar_count, never_pulled, oldest, now, failing)


def busy_data_age(*, artist_id: int, now: datetime | None = None) -> float | None:
    """Seconds since the stalest blocking calendar was pulled; ``None`` if one never was, 0 if none exist."""
    return busy_data_state(artist_id=artist_id, now=now).seconds


def _age(
    calendar_count: int,
    never_pulled: int | None,
    oldest: datetime | str | None,
    now: datetime | None,
    failing: int | None = 0,
) -> BusyAge:
    if not calendar_count:
        return BusyAge(0.0)
    if never_pulled or oldest is None:
        return BusyAge(None, failing or 0)
    return BusyAge(((now or timezone.now()) - _aware(oldest)).total_seconds(), failing or 0)


def artist_calendar_list_for(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[ArtistCalendar]:
    """Every artist calendar for staff, none for anybody else (artists are the studio's business)."""
    if not sees_studio(user):
        return ArtistCalendar.objects.none()
    return (
        ArtistCalendar.objects.filter(account__in=account_list_for(user=user))
        .select_related("artist", "account")
        .order_by("id")
    )


def appointment_list_for(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Appointment]:
    """Every appointment for staff, none for anybody else (clients' bookings are the studio's business)."""
    appointments = Appointment.objects.select_related("artist").order_by("-start", "-id")
    return appointments if sees_studio(user) else appointments.none()
