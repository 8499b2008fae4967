"""The CalDAV server's one entry point: authenticate, find the resource, run the method.

Methods live beside this module (``propfind``, ``reports``, ``objects``); each takes the request
and the resolved resource and returns a response or raises ``DavError``.
"""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from accounts.lockout import LoginRefused
from feeds.dav import auth, objects_http, propfind, reports
from feeds.dav.errors import DavError
from feeds.dav.resources import ROOT, resolve
from feeds.dav.xmlio import error_response

logger = logging.getLogger(__name__)

DAV_HEADER = "1, 3, access-control, calendar-access, extended-mkcol"
ALLOW = "OPTIONS, GET, HEAD, PUT, DELETE, PROPFIND, PROPPATCH, REPORT, MKCALENDAR, MKCOL"

HANDLERS = {
    "PROPFIND": propfind.propfind,
    "PROPPATCH": propfind.proppatch,
    "MKCALENDAR": propfind.mkcalendar,
    "MKCOL": propfind.mkcol,
    "REPORT": reports.report,
    "GET": objects_http.get,
    "HEAD": objects_http.head,
    "PUT": objects_http.put,
    "DELETE": objects_http.delete,
}


def well_known(request: HttpRequest) -> HttpResponse:
    """RFC 6764 section 5: the context path of the CalDAV service."""
    return HttpResponsePermanentRedirect(ROOT)


@method_decorator(csrf_exempt, name="dispatch")
class DavView(View):
    http_method_names = [name.lower() for name in (*HANDLERS, "OPTIONS")]

    def dispatch(self, request: HttpRequest, path: str = "") -> HttpResponse:
        method = request.method.upper()
        if method not in HANDLERS and method != "OPTIONS":
            return self.http_method_not_allowed(request)
        try:
            user = auth.authenticate(request)
        except LoginRefused as refused:
            return _refused(refused)
        if user is None:
            if method == "OPTIONS":
                return _options()
            return _unauthorized()
        try:
            resource = resolve(user, path)
            if resource is None:
                return error_response(DavError(404, "Nothing here."))
            if method == "OPTIONS":
                return _options()
            response = HANDLERS[method](request, resource)
        except DavError as error:
            if error.status >= 500:
                logger.warning("dav %s %s: %s", method, request.path, error.message)
            return _with_dav_header(error_response(error))
        return _with_dav_header(response)


def _options() -> HttpResponse:
    response = HttpResponse(status=200)
    response["Allow"] = ALLOW
    return _with_dav_header(response)


def _with_dav_header(response: HttpResponse) -> HttpResponse:
    response["DAV"] = DAV_HEADER
    return response


def _refused(refused: LoginRefused) -> HttpResponse:
    response = HttpResponse(refused.message + "\n", status=429, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = str(refused.retry_after)
    return _with_dav_header(response)


def _unauthorized() -> HttpResponse:
    response = HttpResponse(
        "Sign in with your user name and an app password.\n", status=401, content_type="text/plain; charset=utf-8"
    )
    response["WWW-Authenticate"] = 'Basic realm="calsync", charset="UTF-8"'
    return _with_dav_header(response)
