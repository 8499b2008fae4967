"""Error pages that answer in the language of the request: JSON under /api/, HTML elsewhere.

A URL that matches no route never reaches DRF, so without these an API client (or an attacker
probing ``/api/appointments/abc``) would get Django's HTML page where it expects JSON.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import ProtectedError, RestrictedError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import exception_handler

from calsync.lib.errors import StateConflict, UpstreamError


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return JsonResponse({"detail": "Server error."}, status=500)
    return defaults.server_error(request)


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    """The one exception handler of the API: DRF's, plus what services raise, so views need not catch.

    - Django's ``ValidationError`` (services validate with ``full_clean`` and their own rules) is a
      400 in DRF's shape;
    - a ``StateConflict`` (a run already active, an account still in use, a wipe refused) is a 409;
    - an ``UpstreamError`` (a remote server could not be asked) is a 502 with its diagnosis;
    - deleting a row that others still need is a 409, not a 500: ``on_delete=PROTECT`` (an account
      used by a sync job, an artist with appointments) raises ``ProtectedError`` from any view's
      destroy; the answer names what holds it.
    """
    if isinstance(exc, DjangoValidationError):
        exc = serializers.ValidationError(serializers.as_serializer_error(exc))
    elif isinstance(exc, StateConflict):
        return Response({"detail": str(exc)}, status=409)
    elif isinstance(exc, UpstreamError):
        return Response({"detail": str(exc)}, status=502)
    elif isinstance(exc, ProtectedError | RestrictedError):
        held_by = exc.protected_objects if isinstance(exc, ProtectedError) else exc.restricted_objects
        holders = sorted({str(obj._meta.verbose_name_plural) for obj in held_by if hasattr(obj, "_meta")})
        what = ", ".join(holders) or "other objects"
        return Response({"detail": f"Still in use by {what}; delete or change those first."}, status=409)
    return exception_handler(exc, context)
