"""Mails to the person who booked: request received, confirmed, cancelled, moved — each with an
``.ics`` their calendar app understands (RFC 5546: ``METHOD:REQUEST`` adds or updates the event,
``METHOD:CANCEL`` removes it; the UID is the appointment's, so every mail updates one event).

Mails go after the booking's transaction commits, through Django's e-mail settings. A mail server
that is down or slow is logged and never fails or undoes a booking: the appointment is the truth,
the mail a courtesy.
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import icalendar
from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone

from booking.models import Appointment

logger = logging.getLogger(__name__)

REQUESTED, CONFIRMED, CANCELLED, MOVED = "requested", "confirmed", "cancelled", "moved"

SUBJECTS = {
    REQUESTED: "Request received: {artist}, {when}",
    CONFIRMED: "Confirmed: {artist}, {when}",
    CANCELLED: "Cancelled: {artist}, {when}",
    MOVED: "New time: {artist}, {when}",
}
OPENINGS = {
    REQUESTED: "thank you for your request. We will confirm it shortly; until then the time is held for you.",
    CONFIRMED: "your appointment is confirmed. We look forward to seeing you.",
    CANCELLED: "your appointment has been cancelled. Your calendar app removes it with the attached file.",
    MOVED: "your appointment has moved to a new time. The attached file updates it in your calendar.",
}


@dataclass(frozen=True, slots=True)
class BookingMail:
    """What a mail says, taken when the change is made: a later change sends its own mail."""

    event: str
    uid: str
    client_name: str
    client_email: str
    artist_name: str
    artist_email: str
    time_zone: str
    start: datetime
    end: datetime
    sequence: int


def booking_mail_facts(appointment: Appointment, *, event: str, now: datetime | None = None) -> BookingMail:
    now = now or timezone.now()
    artist = appointment.artist
    created = appointment.created_at or now
    return BookingMail(
        event=event,
        uid=appointment.caldav_uid,
        client_name=appointment.client_name,
        client_email=appointment.client_email,
        artist_name=artist.name,
        artist_email=artist.email,
        time_zone=artist.time_zone,
        start=appointment.start,
        end=appointment.end,
        # RFC 5545 SEQUENCE must grow with each revision a client sees; seconds since the booking
        # was made grow without a counter column.
        sequence=max(0, int((now - created).total_seconds())),
    )


def invitation_ics(mail: BookingMail, *, organizer: str, stamp: datetime) -> bytes:
    """One VEVENT in a VCALENDAR with the iTIP method that matches the mail."""
    cancelled = mail.event == CANCELLED
    calendar = icalendar.Calendar()
    calendar.add("PRODID", "-//calsync//booking mail//EN")
    calendar.add("VERSION", "2.0")
    calendar.add("METHOD", "CANCEL" if cancelled else "REQUEST")
    event = icalendar.Event()
    event.add("UID", mail.uid)
    event.add("DTSTAMP", stamp.astimezone(UTC))
    event.add("SEQUENCE", mail.sequence)
    event.add("DTSTART", mail.start.astimezone(UTC))
    event.add("DTEND", mail.end.astimezone(UTC))
    event.add("SUMMARY", f"Appointment with {mail.artist_name}")
    event.add("STATUS", "CANCELLED" if cancelled else "CONFIRMED" if mail.event != REQUESTED else "TENTATIVE")
    organizer_address = icalendar.vCalAddress(f"mailto:{organizer}")
    organizer_address.params["CN"] = icalendar.vText(mail.artist_name)
    event.add("ORGANIZER", organizer_address)
    attendee = icalendar.vCalAddress(f"mailto:{mail.client_email}")
    attendee.params["CN"] = icalendar.vText(mail.client_name)
    attendee.params["ROLE"] = icalendar.vText("REQ-PARTICIPANT")
    event.add("ATTENDEE", attendee)
    calendar.add_component(event)
    return calendar.to_ical()


def _when(mail: BookingMail) -> str:
    local = mail.start.astimezone(ZoneInfo(mail.time_zone))
    end = mail.end.astimezone(ZoneInfo(mail.time_zone))
    return f"{local:%a %d %b %Y, %H:%M} to {end:%H:%M} ({mail.time_zone})"


def booking_message(mail: BookingMail, *, now: datetime | None = None) -> EmailMessage:
    sender = settings.DEFAULT_FROM_EMAIL
    organizer = mail.artist_email or _address_of(sender)
    when = _when(mail)
    body = (
        f"Hello {mail.client_name},\n\n{OPENINGS[mail.event]}\n\n"
        f"    {mail.artist_name}\n    {when}\n\n"
        "Reply to this mail if anything should change.\n"
    )
    message = EmailMessage(
        subject=SUBJECTS[mail.event].format(artist=mail.artist_name, when=when),
        body=body,
        from_email=sender,
        to=[mail.client_email],
        reply_to=[mail.artist_email] if mail.artist_email else None,
    )
    method = "CANCEL" if mail.event == CANCELLED else "REQUEST"
    data = invitation_ics(mail, organizer=organizer, stamp=now or timezone.now())
    message.attach("appointment.ics", data, f"text/calendar; method={method}; charset=utf-8")
    return message


def _address_of(sender: str) -> str:
    """``calsync <calsync@host>`` → ``calsync@host``."""
    return sender.rsplit("<", 1)[-1].rstrip(">").strip()


def booking_mail_send(mail: BookingMail) -> bool:
    """Send now; on failure log it and say so (the booking stands either way)."""
    try:
        booking_message(mail).send(fail_silently=False)
    except (OSError, smtplib.SMTPException, UnicodeError, ValueError) as exc:
        # OSError covers refused connections, DNS failures and timeouts. No password, no body:
        # the recipient and the reason are what an operator needs.
        logger.error("booking mail %s to %s not sent: %s: %s", mail.event, mail.client_email, type(exc).__name__, exc)
        return False
    return True


def booking_mail_queue(*, appointment: Appointment, event: str) -> None:
    """Send the ``event`` mail for ``appointment`` once the current transaction commits."""
    if not appointment.client_email:
        return
    mail = booking_mail_facts(appointment, event=event)
    # robust: even an error nobody foresaw is logged by Django rather than raised into the request
    # whose booking has already been committed.
    transaction.on_commit(lambda: booking_mail_send(mail), robust=True)
