"""An artist's appointments as a calendar: rendered on read, and edits from clients go through booking.

Each non-cancelled appointment is one event ``<uid>.ics``. Nothing is copied: the etag is the
appointment's ``updated_at``, and every change to an appointment (booking, staff, a pull from the
artist's own calendar, a push) moves it, so the sync token is simply the newest ``updated_at`` in
microseconds; cancelled appointments and erased ones (``AppointmentTombstone``) are reported as
removed. A client that moves an event moves the appointment under the booking rules (the new time
must not clash with the artist's busy time or another appointment); deleting it, or setting
``STATUS:CANCELLED``, cancels it. Other edits are not kept, so such a PUT is answered without ETag
and the client reads the event back.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db.models import Max

from booking import services as booking
from booking.feeds import appointment_ical
from booking.models import Appointment, Artist
from calsync.lib.davxml import caldav
from feeds.dav.backends.base import Changes, InvalidSyncToken, Precondition, PutResult, StoredObject, check_precondition
from feeds.dav.errors import DavError, forbidden, invalid_object, need_privileges
from feeds.dav.models import AppointmentTombstone, ArtistGrant
from feeds.dav.objects import CheckedObject

SLUG_PREFIX = "appointments-"
TOKEN_PREFIX = "http://calsync.invalid/ns/appointments/"  # noqa: S105 (a sync token, not a secret)
# Changes are reported from a little before the token, so a transaction that committed late with an
# older timestamp is not missed; reporting an unchanged event again costs a client one comparison.
OVERLAP = timedelta(seconds=10)
_LIVE = (Appointment.Status.PENDING, Appointment.Status.CONFIRMED)


def _micros(moment: datetime | None) -> int:
    return int(moment.timestamp() * 1_000_000) if moment else 0


def _etag(appointment: Appointment) -> str:
    return f"{appointment.pk:x}-{_micros(appointment.updated_at):x}"


class AppointmentCalendar:
    components = ["VEVENT"]
    description = ""
    time_zone = ""
    dead_properties: dict[str, str] = {}
    can_add = False  # new appointments are booked in calsync, never created by a calendar app

    def __init__(self, grant: ArtistGrant) -> None:
        self.grant = grant
        self.artist: Artist = grant.artist
        self.slug = SLUG_PREFIX + self.artist.slug
        self.writable = grant.can_write
        self.display_name = grant.display_name or f"{self.artist.name} - appointments"
        self.color, self.order = grant.color, grant.order

    def _appointments(self):
        return Appointment.objects.filter(artist=self.artist)

    def _stored(self, appointment: Appointment, with_data: bool) -> StoredObject:
        data = appointment_ical(appointment) if with_data else None
        return StoredObject(
            f"{appointment.caldav_uid}.ics",
            _etag(appointment),
            "VEVENT",
            data,
            (appointment.start, appointment.end),
            modified=appointment.updated_at,
        )

    def _current_micros(self) -> int:
        newest = self._appointments().aggregate(newest=Max("updated_at"))["newest"]
        erased = AppointmentTombstone.objects.filter(artist=self.artist).aggregate(newest=Max("deleted_at"))["newest"]
        return max(_micros(newest), _micros(erased))

    def sync_token(self) -> str:
        return f"{TOKEN_PREFIX}{self.artist.pk}-{self._current_micros()}"

    def objects(self, *, with_data: bool) -> Iterable[StoredObject]:
        live = self._appointments().filter(status__in=_LIVE).order_by("start", "pk")
        return (self._stored(a, with_data) for a in live.iterator(chunk_size=500))

    def objects_named(self, names: list[str], *, with_data: bool) -> dict[str, StoredObject]:
        uids = [name.removesuffix(".ics") for name in names if name.endswith(".ics")]
        live = self._appointments().filter(status__in=_LIVE, caldav_uid__in=uids)
        return {stored.name: stored for stored in (self._stored(a, with_data) for a in live)}

    def candidates(self, component: str | None, start: datetime | None, end: datetime | None) -> Iterable[StoredObject]:
        if component not in (None, "VEVENT"):
            return []
        live = self._appointments().filter(status__in=_LIVE)
        if start is not None:
            live = live.filter(end__gt=start)
        if end is not None:
            live = live.filter(start__lt=end)
        return (self._stored(a, True) for a in live.order_by("start", "pk").iterator(chunk_size=500))

    def changes_since(self, token: str, *, with_data: bool) -> Changes:
        current = self._current_micros()
        new_token = f"{TOKEN_PREFIX}{self.artist.pk}-{current}"
        if not token:
            return Changes(new_token, list(self.objects(with_data=with_data)))
        artist, _, micros = token.removeprefix(TOKEN_PREFIX).partition("-")
        if not token.startswith(TOKEN_PREFIX) or artist != str(self.artist.pk) or not micros.isdigit():
            raise InvalidSyncToken(token)
        if int(micros) > current:
            raise InvalidSyncToken(token)
        since = datetime.fromtimestamp(int(micros) / 1_000_000, tz=UTC) - OVERLAP
        changed = self._appointments().filter(updated_at__gt=since).order_by("pk")
        alive = [self._stored(a, with_data) for a in changed if a.status in _LIVE]
        gone = [f"{a.caldav_uid}.ics" for a in changed if a.status not in _LIVE]
        gone += [
            f"{uid}.ics"
            for uid in AppointmentTombstone.objects.filter(artist=self.artist, deleted_at__gt=since).values_list(
                "uid", flat=True
            )
        ]
        return Changes(new_token, alive, sorted(set(gone)))

    # --- writing ---------------------------------------------------------------------------------

    def _writable_appointment(self, name: str, when: Precondition) -> Appointment:
        if not self.writable:
            raise need_privileges()
        appointment = (
            self._appointments().filter(status__in=_LIVE, caldav_uid=name.removesuffix(".ics")).first()
            if name.endswith(".ics")
            else None
        )
        if appointment is None:
            if when.if_match is not None:
                raise DavError(412, "That appointment is gone.")
            raise need_privileges("New appointments are booked in calsync; a calendar app can move or cancel them.")
        check_precondition(when, _etag(appointment))
        return appointment

    def put(self, name: str, data: bytes, checked: CheckedObject, when: Precondition) -> PutResult:
        appointment = self._writable_appointment(name, when)
        if checked.uid != appointment.caldav_uid:
            raise forbidden("The UID of an appointment cannot change.", caldav("no-uid-conflict"))
        events = checked.calendar.walk("VEVENT")
        if len(events) != 1 or "RRULE" in events[0] or "RDATE" in events[0]:
            raise forbidden("An appointment is one event; it cannot recur.", caldav("valid-calendar-object-resource"))
        event = events[0]
        if str(event.get("STATUS", "")).upper() == "CANCELLED":
            booking.appointment_cancel(appointment=appointment)
            return PutResult(_etag(Appointment.objects.get(pk=appointment.pk)), created=False, stored_as_sent=False)
        start, end = _times(event, ZoneInfo(self.artist.time_zone))
        if (start, end) != (appointment.start, appointment.end):
            self._move(appointment, start, end)
        appointment.refresh_from_db()
        return PutResult(_etag(appointment), created=False, stored_as_sent=data == appointment_ical(appointment))

    def _move(self, appointment: Appointment, start: datetime, end: datetime) -> None:
        answer = booking.availability_check(
            artist=self.artist, start=start, end=end, exclude_appointment_id=appointment.pk
        )
        clashes = [b for b in answer.verdict.conflicts if b.ref != appointment.caldav_href]
        if answer.verdict.reason == "busy" and clashes:
            first = clashes[0]
            raise DavError(
                409,
                f"The artist is busy then ({first.start:%Y-%m-%d %H:%M}-{first.end:%H:%M} UTC); the appointment keeps "
                "its time.",
            )
        try:
            booking.appointment_update(appointment=appointment, start=start, end=end)
        except booking.SlotUnavailable:
            raise DavError(409, "Another appointment holds that time; the appointment keeps its time.") from None
        except ValidationError as exc:
            raise invalid_object("; ".join(exc.messages)) from None

    def delete_object(self, name: str, when: Precondition) -> None:
        booking.appointment_cancel(appointment=self._writable_appointment(name, when))

    def set_properties(self, values: dict[str, str | int | list[str]], dead: dict[str, str | None]) -> None:
        unknown = set(values) - {"display_name", "color", "order"}
        if unknown or dead:
            raise forbidden("Only the name, colour and order of an appointments calendar can be changed.")
        for key, value in values.items():
            setattr(self.grant, key, value)
            setattr(self, key, value)
        self.grant.save(update_fields=list(values))

    def delete(self) -> None:
        raise forbidden("An artist's appointments calendar cannot be deleted from a client.")


def _times(event, floating: ZoneInfo) -> tuple[datetime, datetime]:
    """Start and end in UTC; floating times are read in the artist's zone."""
    start, end = event.get("DTSTART"), event.get("DTEND")
    if start is None or not isinstance(start.dt, datetime):
        raise invalid_object("An appointment needs a start time (not a whole day).")
    begin = start.dt if start.dt.tzinfo else start.dt.replace(tzinfo=floating)
    if end is not None and isinstance(end.dt, datetime):
        finish = end.dt if end.dt.tzinfo else end.dt.replace(tzinfo=floating)
    elif event.get("DURATION") is not None:
        finish = begin + event["DURATION"].dt
    else:
        raise invalid_object("An appointment needs an end time.")
    return begin.astimezone(UTC), finish.astimezone(UTC)
