"""Request shapes no client sends and the database cannot take, answered 400 at the door.

PostgreSQL text cannot hold a NUL character: a NUL in a URL path or query parameter reached
every lookup behind it (an artist slug, a feed path, a webhook token) as a 500 on PostgreSQL,
while SQLite merely found nothing. JSON nested a hundred thousand levels deep made the standard
library's parser hit the recursion limit, which DRF's parser does not catch (a 500 too).
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

NUL = "\x00"


class RefuseNulInUrlMiddleware:
    """400 for a NUL in the path or the query string (the CalDAV server answers its own paths)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith("/dav/") and (NUL in request.path or _query_has_nul(request)):
            return JsonResponse({"detail": "A URL must not contain NUL characters."}, status=400)
        return self.get_response(request)


def _query_has_nul(request: HttpRequest) -> bool:
    return any(NUL in key or any(NUL in value for value in values) for key, values in request.GET.lists())


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser, with a body nested past Python's recursion limit as a parse error."""

    def parse(self, stream, media_type=None, parser_context=None):  # type: ignore[no-untyped-def]
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply.") from None
