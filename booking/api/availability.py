"""The public availability answer, served without DRF's per-request machinery.

Every keystroke on a booking page asks this endpoint, so it is the one hot read of the studio's
site. It needs no authentication, session, throttling or content negotiation, and answers only
JSON; as a plain Django view it costs about half of a DRF view (see ``bench/booking_bench.py
--profile``). The validation messages and the JSON are those of the DRF serializers in
``booking.serializers``, which still document it in the OpenAPI schema through
``AvailabilityView``.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import extend_schema
from rest_framework import permissions
from rest_framework.views import APIView

from booking import serializers as s
from booking.models import in_bookable_range
from booking.selectors import Answer, artist_with_busy_age
from booking.services import availability_check

REQUIRED = "This field is required."
BLANK = "This field may not be blank."


def _drf_datetime(value: datetime) -> str:
    # What DRF's DateTimeField renders: the current time zone, "Z" for UTC.
    text = value.astimezone(timezone.get_current_timezone()).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def answer_json(answer: Answer) -> dict:
    return {
        "available": answer.verdict.available,
        "reason": answer.verdict.reason,
        "conflicts": [
            {"start": _drf_datetime(c.start), "end": _drf_datetime(c.end), "kind": c.kind}
            for c in answer.verdict.conflicts
        ],
        "degraded": answer.degraded,
        "data_age_seconds": None if answer.data_age_seconds is None else float(answer.data_age_seconds),
    }


@csrf_exempt
def availability(request: HttpRequest) -> HttpResponse:
    if request.method not in ("GET", "HEAD"):
        return JsonResponse(
            {"detail": f'Method "{request.method}" not allowed.'}, status=405, headers={"Allow": "GET, HEAD, OPTIONS"}
        )
    params = {name: request.GET.get(name) for name in ("artist", "start", "end")}
    errors = {
        name: [REQUIRED if value is None else BLANK]
        for name, value in params.items()
        if value is None or not value.strip()
    }
    if errors:
        return JsonResponse(errors, status=400)
    ref, raw_start, raw_end = (value.strip() for value in params.values())  # type: ignore[union-attr]
    now = timezone.now()
    found = artist_with_busy_age(ref=ref, now=now)
    if found is None:
        return JsonResponse({"artist": f"No active artist {ref!r}."}, status=400)
    artist, busy_age = found
    zone = ZoneInfo(artist.time_zone)
    start, end = s.parse_moment(raw_start, zone), s.parse_moment(raw_end, zone)
    if start is None or end is None:
        return JsonResponse(
            [f"{raw_start if start is None else raw_end!r} is not an ISO 8601 date-time"], status=400, safe=False
        )
    if not (in_bookable_range(start) and in_bookable_range(end)):
        return JsonResponse(
            [s.out_of_range(raw_start if not in_bookable_range(start) else raw_end)], status=400, safe=False
        )
    answer = availability_check(artist=artist, start=start, end=end, now=now, busy_age=busy_age)
    return JsonResponse(answer_json(answer))


class AvailabilityView(APIView):
    """Documents ``availability`` in the OpenAPI schema; requests skip DRF and go straight to it."""

    permission_classes = [permissions.AllowAny]
    authentication_classes: list = []

    @extend_schema(
        parameters=[s.AvailabilityQuerySerializer],
        responses=s.AvailabilitySerializer,
        summary="Availability",
        description="Public. Times without an offset are the artist's local time. A `degraded` answer "
        "means the calendar could not be asked; `data_age_seconds` is then the age of what was used.",
    )
    def get(self, request: HttpRequest) -> HttpResponse:
        return availability(request)

    def dispatch(self, request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        return availability(request)
