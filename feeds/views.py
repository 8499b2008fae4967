"""/ics/<path>: stored bytes with validators, never rendered per request."""

from __future__ import annotations

import hmac

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotModified
from django.utils.http import http_date, parse_http_date_safe
from django.views.decorators.http import require_safe

from feeds.selectors import ics_feed_body, ics_feed_for_serving

GZIP_SUFFIX = '-gzip"'


@require_safe
def ics_feed_serve(request: HttpRequest, path: str) -> HttpResponse:
    feed = ics_feed_for_serving(path=path)
    # A private feed without its token is "not found": a 403 would confirm that it exists.
    if feed is None or (feed.token and not hmac.compare_digest(request.GET.get("token", ""), feed.token)):
        raise Http404("no such feed")
    if not feed.etag:
        response = HttpResponse("This feed has not been rendered yet.\n", status=503, content_type="text/plain")
        response["Retry-After"] = "30"
        return response
    gzipped = _accepts_gzip(request.headers.get("Accept-Encoding", ""))
    # A strong ETag names one representation (RFC 9110 §8.8.3): the gzip body gets its own.
    etag = feed.etag[:-1] + GZIP_SUFFIX if gzipped else feed.etag
    headers = {
        "ETag": etag,
        "Last-Modified": http_date(feed.last_modified.timestamp()),
        "Cache-Control": ("private" if feed.token else "public") + ", max-age=0, must-revalidate",
        "Vary": "Accept-Encoding",
    }
    if _not_modified(request, feed.etag, feed.last_modified.timestamp()):
        response = HttpResponseNotModified()
    else:
        response = HttpResponse(
            ics_feed_body(feed_id=feed.pk, gzipped=gzipped), content_type="text/calendar; charset=utf-8"
        )
        response["Content-Disposition"] = f'inline; filename="{feed.path.rsplit("/", 1)[-1]}.ics"'
        if gzipped:
            response["Content-Encoding"] = "gzip"
    for name, value in headers.items():
        response[name] = value
    return response


def _not_modified(request: HttpRequest, etag: str, modified: float) -> bool:
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None:
        # Weak comparison (RFC 9110 §13.1.2), either representation's tag.
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in tags or etag in tags or etag[:-1] + GZIP_SUFFIX in tags
    since = parse_http_date_safe(request.headers.get("If-Modified-Since", ""))
    return since is not None and int(modified) <= since


def _accepts_gzip(accept_encoding: str) -> bool:
    for part in accept_encoding.split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip().lower() == "gzip":
            return params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False
