"""Booking API shapes. Naive times are read as the artist's wall clock, which is what a client sees."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.utils.dateparse import parse_datetime
from rest_framework import serializers

from accounts.models import Account
from accounts.selectors import account_list_for
from booking.models import EARLIEST, LATEST, OUT_OF_RANGE, Appointment, Artist, ArtistCalendar, in_bookable_range


def parse_moment(value: str, zone: ZoneInfo) -> datetime | None:
    """An ISO 8601 date-time, naive ones read in ``zone``; ``None`` if it is not one."""
    try:
        moment = parse_datetime(value)
    except ValueError:  # well-formed but impossible, such as month 13
        return None
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def out_of_range(raw: str) -> str:
    return f"{raw!r}: {OUT_OF_RANGE}"


def aware(value: str | datetime, zone: ZoneInfo) -> datetime:
    moment = parse_moment(value, zone) if isinstance(value, str) else value
    if moment is None:
        raise serializers.ValidationError(f"{value!r} is not an ISO 8601 date-time")
    moment = moment if moment.tzinfo else moment.replace(tzinfo=zone)
    if not in_bookable_range(moment):
        raise serializers.ValidationError(out_of_range(str(value)))
    return moment


def validate_bookable(moment: datetime) -> datetime:
    if not in_bookable_range(moment):
        raise serializers.ValidationError(OUT_OF_RANGE)
    return moment


class ArtistPublicSerializer(serializers.ModelSerializer):
    class Meta:
        model = Artist
        fields = ["id", "name", "slug", "time_zone"]


class AvailabilityQuerySerializer(serializers.Serializer):
    artist = serializers.CharField(help_text="Artist id or slug.")
    start = serializers.CharField(help_text="ISO 8601; without an offset it is the artist's local time.")
    end = serializers.CharField()


class AvailabilityConflictSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    kind = serializers.CharField()


class AvailabilitySerializer(serializers.Serializer):
    available = serializers.BooleanField()
    reason = serializers.CharField()
    conflicts = AvailabilityConflictSerializer(many=True)
    degraded = serializers.BooleanField()
    data_age_seconds = serializers.FloatField(allow_null=True)


class SlotsQuerySerializer(serializers.Serializer):
    date = serializers.DateField(help_text="Between 1970-01-01 and 2199-12-31.")
    duration = serializers.IntegerField(min_value=5, max_value=24 * 60, help_text="Minutes.")

    def validate_date(self, day: date) -> date:
        if not EARLIEST.date() <= day < LATEST.date():
            raise serializers.ValidationError(OUT_OF_RANGE)
        return day


class SlotsSerializer(serializers.Serializer):
    artist = serializers.IntegerField()
    date = serializers.DateField()
    duration = serializers.IntegerField()
    slots = serializers.ListField(child=serializers.DictField())
    degraded = serializers.BooleanField()
    data_age_seconds = serializers.FloatField(allow_null=True)


class BookingRequestSerializer(serializers.Serializer):
    artist = serializers.CharField(help_text="Artist id or slug.")
    client_name = serializers.CharField(max_length=200)
    client_email = serializers.EmailField()
    client_phone = serializers.CharField(max_length=50, required=False, allow_blank=True, default="")
    start = serializers.CharField(help_text="ISO 8601; without an offset it is the artist's local time.")
    end = serializers.CharField(required=False, help_text="Give either end or duration (minutes).")
    duration = serializers.IntegerField(required=False, min_value=5, max_value=24 * 60)
    description = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")


class AppointmentSerializer(serializers.ModelSerializer):
    artist_name = serializers.CharField(source="artist.name", read_only=True)
    push_needs_attention = serializers.SerializerMethodField(
        help_text="The calendar refused the push or the artist changed the event: a person must look (see push_error)."
    )

    def get_push_needs_attention(self, appointment: Appointment) -> bool:
        return appointment.push_state in Appointment.NEEDS_ATTENTION

    class Meta:
        model = Appointment
        fields = [
            "id",
            "artist",
            "artist_name",
            "client_name",
            "client_email",
            "client_phone",
            "start",
            "end",
            "description",
            "status",
            "needs_review",
            "push_state",
            "push_needs_attention",
            "push_error",
            "push_attempts",
            "push_next_at",
            "caldav_uid",
            "caldav_href",
            "caldav_etag",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "artist",
            "status",
            "needs_review",
            "push_state",
            "push_error",
            "push_attempts",
            "push_next_at",
            "caldav_uid",
            "caldav_href",
            "caldav_etag",
            "created_at",
            "updated_at",
        ]

    def validate_start(self, value: datetime) -> datetime:
        return validate_bookable(value)

    def validate_end(self, value: datetime) -> datetime:
        return validate_bookable(value)


class BookingConfirmationSerializer(serializers.ModelSerializer):
    """What the client who booked sees: no CalDAV internals."""

    degraded = serializers.BooleanField(read_only=True, source="needs_review")

    class Meta:
        model = Appointment
        fields = ["id", "artist", "start", "end", "status", "degraded"]


MAX_SYNC_RANGE = timedelta(days=2 * 366)


class SyncRequestSerializer(serializers.Serializer):
    artist = serializers.CharField(required=False, help_text="Artist id or slug; all artists when omitted.")
    start = serializers.DateTimeField(
        required=False, help_text="With `end`: also pull busy time of `[start, end)` (ISO 8601; UTC without an offset)."
    )
    end = serializers.DateTimeField(required=False)

    def validate_start(self, value: datetime) -> datetime:
        return validate_bookable(value)

    def validate_end(self, value: datetime) -> datetime:
        return validate_bookable(value)

    def validate(self, attrs: dict) -> dict:
        start, end = attrs.get("start"), attrs.get("end")
        if (start is None) != (end is None):
            missing = "end" if end is None else "start"
            raise serializers.ValidationError({missing: "Give both start and end, or neither."})
        if start is not None and end <= start:
            raise serializers.ValidationError({"end": "The end must be after the start."})
        if start is not None and end - start > MAX_SYNC_RANGE:
            raise serializers.ValidationError({"end": f"A sync range spans at most {MAX_SYNC_RANGE.days} days."})
        return attrs


class ArtistCalendarSerializer(serializers.ModelSerializer):
    def validate_account(self, account: Account) -> Account:
        # Nobody attaches a calendar through an account they cannot see (and so could not use).
        request = self.context.get("request")
        if request is not None and not account_list_for(user=request.user).filter(pk=account.pk).exists():
            raise serializers.ValidationError("No such account.")
        return account

    class Meta:
        model = ArtistCalendar
        fields = [
            "id",
            "artist",
            "account",
            "calendar_url",
            "blocks_time",
            "receives_appointments",
            "last_pulled_at",
            "last_pull_ok",
            "last_error",
        ]
        read_only_fields = ["last_pulled_at", "last_pull_ok", "last_error"]


class CalendarCheckSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    message = serializers.CharField(help_text="A diagnosis for a person; never contains the password.")
