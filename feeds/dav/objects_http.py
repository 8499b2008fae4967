"""GET, HEAD, PUT and DELETE of calendar objects (and DELETE of a whole calendar)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from calsync.lib.davxml import caldav
from feeds.dav.backends.base import Precondition
from feeds.dav.errors import DavError, forbidden, need_privileges, not_found
from feeds.dav.objects import check_object
from feeds.dav.resources import Kind, Resource
from feeds.dav.xmlio import read_body


def _precondition(request: HttpRequest) -> Precondition:
    if_match = request.META.get("HTTP_IF_MATCH")
    if_none_match = request.META.get("HTTP_IF_NONE_MATCH", "").strip()
    if if_match is not None:
        if_match = if_match.strip()
        if if_match != "*":
            if_match = if_match.removeprefix("W/").strip('"')
    return Precondition(if_match=if_match, if_none_match_any=if_none_match == "*")


def _stored(resource: Resource):
    if resource.kind is not Kind.OBJECT:
        raise DavError(405, "Only calendar objects can be read with GET; use PROPFIND on collections.")
    found = resource.calendar.objects_named([resource.name], with_data=True).get(resource.name)
    if found is None:
        raise not_found()
    return found


def get(request: HttpRequest, resource: Resource) -> HttpResponse:
    if resource.kind is not Kind.OBJECT:
        return HttpResponse(
            "This is calsync's CalDAV server. Add it to a calendar app with your user name and an app password.\n",
            content_type="text/plain; charset=utf-8",
        )
    stored = _stored(resource)
    response = HttpResponse(stored.data, content_type="text/calendar; charset=utf-8")
    response["ETag"] = f'"{stored.etag}"'
    return response


def head(request: HttpRequest, resource: Resource) -> HttpResponse:
    response = get(request, resource)
    response["Content-Length"] = str(len(response.content))
    response.content = b""
    return response


def put(request: HttpRequest, resource: Resource) -> HttpResponse:
    if resource.kind is not Kind.OBJECT:
        raise DavError(405, "PUT a calendar object into a calendar; create calendars with MKCALENDAR.")
    calendar = resource.calendar
    if not calendar.writable:
        raise need_privileges()
    limit = settings.CALSYNC_DAV_MAX_OBJECT_BYTES
    try:
        data = read_body(request, limit)
    except DavError as error:
        if error.status != 413:
            raise
        raise forbidden(f"A calendar object may be at most {limit} bytes.", caldav("max-resource-size")) from None
    checked = check_object(
        data, content_type=request.META.get("CONTENT_TYPE", ""), components=calendar.components, max_size=limit
    )
    result = calendar.put(resource.name, data, checked, _precondition(request))
    response = HttpResponse(status=201 if result.created else 204)
    if result.stored_as_sent:
        response["ETag"] = f'"{result.etag}"'
    return response


def delete(request: HttpRequest, resource: Resource) -> HttpResponse:
    if resource.kind is Kind.CALENDAR:
        if resource.calendar is None:
            raise not_found()
        resource.calendar.delete()
        return HttpResponse(status=204)
    if resource.kind is not Kind.OBJECT:
        raise forbidden("Only calendars and their objects can be deleted.")
    if not resource.calendar.writable:
        raise need_privileges()
    resource.calendar.delete_object(resource.name, _precondition(request))
    return HttpResponse(status=204)
