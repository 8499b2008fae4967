"""The booking API: parse, call a service or selector, render."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers, status, viewsets
from rest_framework.decorators import action, api_view, permission_classes, throttle_classes
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle

from booking import serializers as s
from booking.models import Appointment, Artist, ArtistCalendar
from booking.selectors import (
    Answer,
    appointment_list_for,
    artist_by_ref,
    artist_calendar_list_for,
    artist_list_public,
)
from booking.services import (
    SlotUnavailable,
    appointment_cancel,
    appointment_confirm,
    appointment_create,
    appointment_push_again,
    appointment_update,
    artist_calendar_check,
    busy_pull_queue,
    slots_check,
)
from calsync.client_address import client_ip
from calsync.visibility import sees_studio


class BookingRateThrottle(SimpleRateThrottle):
    """Booking requests per client address, ``CALSYNC_BOOKING_RATE``, counted in the cache.

    The address is ``client_ip``: X-Forwarded-For counts only through ``CALSYNC_TRUSTED_PROXIES``,
    so behind a proxy each visitor has a bucket of their own, and a forged header buys nothing.
    """

    scope = "booking"

    def get_rate(self) -> str:
        return settings.CALSYNC_BOOKING_RATE

    def get_cache_key(self, request: Request, view: object) -> str:
        return self.cache_format % {"scope": self.scope, "ident": client_ip(request)}


class BookingEmailThrottle(SimpleRateThrottle):
    """Booking requests per client e-mail address, ``CALSYNC_BOOKING_EMAIL_RATE``, from any address.

    Keeps one person (or one victim's address in someone else's hands) from filling an artist's
    calendar with requests from many addresses. The key is a keyed digest, never the address.
    """

    scope = "booking-email"

    def get_rate(self) -> str:
        return settings.CALSYNC_BOOKING_EMAIL_RATE

    def get_cache_key(self, request: Request, view: object) -> str | None:
        email = request.data.get("client_email") if hasattr(request.data, "get") else None
        if not isinstance(email, str) or not email.strip():
            return None  # no e-mail, no bucket: the serializer refuses the request anyway
        digest = hmac.new(settings.SECRET_KEY.encode(), email.strip().casefold().encode(), hashlib.sha256)
        return self.cache_format % {"scope": self.scope, "ident": digest.hexdigest()[:40]}


def _artist_or_400(ref: str) -> Artist:
    artist = artist_by_ref(ref=ref)
    if artist is None:
        raise serializers.ValidationError({"artist": f"No active artist {ref!r}."})
    return artist


def _answer_data(answer: Answer) -> dict:
    return {
        "available": answer.verdict.available,
        "reason": answer.verdict.reason,
        "conflicts": [{"start": c.start, "end": c.end, "kind": c.kind} for c in answer.verdict.conflicts],
        "degraded": answer.degraded,
        "data_age_seconds": answer.data_age_seconds,
    }


@extend_schema(responses=s.ArtistPublicSerializer(many=True), summary="Bookable artists")
@api_view(["GET"])
@permission_classes([permissions.AllowAny])
def artist_list_view(request: Request) -> Response:
    return Response(s.ArtistPublicSerializer(artist_list_public(), many=True).data)


@extend_schema(parameters=[s.SlotsQuerySerializer], responses=s.SlotsSerializer, summary="Free start times of a day")
@api_view(["GET"])
@permission_classes([permissions.AllowAny])
def slots_view(request: Request, ref: str) -> Response:
    artist = artist_by_ref(ref=ref)
    if artist is None:
        return Response({"detail": "No such artist."}, status=status.HTTP_404_NOT_FOUND)
    query = s.SlotsQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    day, minutes = query.validated_data["date"], query.validated_data["duration"]
    starts, freshness = slots_check(artist=artist, day=day, duration=timedelta(minutes=minutes))
    zone = ZoneInfo(artist.time_zone)
    data = {
        "artist": artist.pk,
        "date": day,
        "duration": minutes,
        "slots": [
            {"start": moment.isoformat(), "local": moment.astimezone(zone).strftime("%H:%M")} for moment in starts
        ],
        "degraded": freshness.degraded,
        "data_age_seconds": freshness.age_seconds,
    }
    return Response(s.SlotsSerializer(data).data)


class IsStaff(permissions.BasePermission):
    def has_permission(self, request: Request, view: object) -> bool:
        return sees_studio(request.user)


class AppointmentViewSet(viewsets.ModelViewSet):
    """Public: create (a booking request). Staff: everything else."""

    serializer_class = s.AppointmentSerializer
    lookup_value_regex = r"\d+"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[Appointment]:
        return appointment_list_for(user=self.request.user)

    def get_permissions(self) -> list:
        if self.action == "create":
            return [permissions.AllowAny()]
        return [IsStaff()]

    def get_throttles(self) -> list:
        if self.action == "create" and not (self.request.user and self.request.user.is_staff):
            return [BookingRateThrottle(), BookingEmailThrottle()]
        return []

    @extend_schema(request=s.BookingRequestSerializer, responses={201: s.BookingConfirmationSerializer})
    def create(self, request: Request, *args: object, **kwargs: object) -> Response:
        form = s.BookingRequestSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        artist = _artist_or_400(data["artist"])
        zone = ZoneInfo(artist.time_zone)
        start = s.aware(data["start"], zone)
        if data.get("end"):
            end = s.aware(data["end"], zone)
        elif data.get("duration"):
            end = start + timedelta(minutes=data["duration"])
        else:
            raise serializers.ValidationError({"end": "Give end or duration."})
        try:
            appointment, answer = appointment_create(
                artist=artist,
                client_name=data["client_name"],
                client_email=data["client_email"],
                client_phone=data["client_phone"],
                description=data["description"],
                start=start,
                end=end,
            )
        except SlotUnavailable as exc:
            verdict = exc.answer.verdict
            code = status.HTTP_409_CONFLICT if verdict.reason in ("busy", "taken") else status.HTTP_400_BAD_REQUEST
            return Response({"detail": _refusal(verdict.reason), **_answer_data(exc.answer)}, status=code)
        body = s.BookingConfirmationSerializer(appointment).data
        body["message"] = (
            "Request received. The calendar could not be checked just now, so the studio will confirm by email."
            if answer.degraded
            else "Request received. The studio will confirm it."
        )
        return Response(body, status=status.HTTP_201_CREATED)

    def perform_update(self, serializer: s.AppointmentSerializer) -> None:
        try:
            serializer.instance = appointment_update(appointment=serializer.instance, **serializer.validated_data)
        except SlotUnavailable as exc:
            raise serializers.ValidationError({"start": _refusal(exc.answer.verdict.reason)}) from None

    def perform_destroy(self, instance: Appointment) -> None:
        # Deleting is cancelling: the event leaves the calendar and the record stays for the log.
        appointment_cancel(appointment=instance)

    @extend_schema(request=None, responses=s.AppointmentSerializer)
    @action(detail=True, methods=["post"])
    def confirm(self, request: Request, pk: str) -> Response:
        appointment = appointment_confirm(appointment=self.get_object())
        return Response(s.AppointmentSerializer(appointment).data)

    @extend_schema(request=None, responses=s.AppointmentSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str) -> Response:
        return Response(s.AppointmentSerializer(appointment_cancel(appointment=self.get_object())).data)

    @extend_schema(
        request=None,
        responses={202: s.AppointmentSerializer},
        description="Try the calendar push again now, e.g. after fixing what made it need attention.",
    )
    @action(detail=True, methods=["post"])
    def push(self, request: Request, pk: str) -> Response:
        appointment = appointment_push_again(appointment=self.get_object())
        return Response(s.AppointmentSerializer(appointment).data, status=status.HTTP_202_ACCEPTED)


REFUSALS = {
    "busy": "That time is already taken.",
    "taken": "That time was just taken by another booking.",
    "min_notice": "That is too soon; please pick a later time.",
    "outside_working_hours": "The artist does not work at that time.",
    "invalid": "The end must be after the start.",
}


def _refusal(reason: str) -> str:
    return REFUSALS.get(reason, "That time cannot be booked.")


@extend_schema(request=s.SyncRequestSerializer, responses={202: None}, summary="Pull busy time now")
@api_view(["POST"])
@permission_classes([IsStaff])
@throttle_classes([])
def sync_view(request: Request) -> Response:
    form = s.SyncRequestSerializer(data=request.data)
    form.is_valid(raise_exception=True)
    data = form.validated_data
    window = {key: data[key].isoformat() for key in ("start", "end") if key in data}
    if data.get("artist"):
        artist = artist_by_ref(ref=data["artist"], active_only=False)
        if artist is None:
            raise serializers.ValidationError({"artist": ["No such artist."]})
    else:
        artist = None
    busy_pull_queue(artist=artist, **window)
    return Response({"queued": True, **window}, status=status.HTTP_202_ACCEPTED)


class ArtistCalendarViewSet(viewsets.ModelViewSet):
    """Staff only: which calendar blocks an artist's time and receives clients' bookings is the
    studio's business (a user attaching their own calendar could make an artist unbookable, or
    receive clients' names and phone numbers with every appointment pushed to it)."""

    serializer_class = s.ArtistCalendarSerializer
    permission_classes = [IsStaff]
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> QuerySet[ArtistCalendar]:
        return artist_calendar_list_for(user=self.request.user)

    @extend_schema(request=None, responses=s.CalendarCheckSerializer, summary="Test the connection")
    @action(detail=True, methods=["post"])
    def test(self, request: Request, pk: str) -> Response:
        """Lists the calendar's items with a short timeout; a refusal is a result (`ok: false`), not an error."""
        result = artist_calendar_check(calendar=self.get_object())
        return Response(s.CalendarCheckSerializer({"ok": result.ok, "message": result.message}).data)
