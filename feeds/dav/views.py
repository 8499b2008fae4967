"""The CalDAV server's one entry point: authenticate, find the resource, run the method.

Methods live beside this module (``propfind``, ``reports``, ``objects``); each takes the request
and the resolved resource and returns a response or raises ``DavError``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps

from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponsePermanentRedirect
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from accounts.lockout import LoginRefused
from feeds.dav import auth, objects_http, propfind, reports
from feeds.dav.errors import DavError
from feeds.dav.resources import ROOT, Kind, Resource, resolve
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


# What DAVx5, iOS and Thunderbird send to the bare host before they know where the service is.
SITE_ROOT_METHODS = frozenset({"PROPFIND", "OPTIONS"})


@csrf_exempt  # clients send PROPFIND here first; Django's CSRF page would stop discovery
def well_known(request: HttpRequest) -> HttpResponse:
    """RFC 6764 section 5: the context path of the CalDAV service, whatever the method."""
    return HttpResponsePermanentRedirect(ROOT)


@csrf_exempt
def no_carddav(request: HttpRequest) -> HttpResponse:
    """calsync serves no CardDAV: say so plainly rather than send contacts apps to CalDAV."""
    return HttpResponse("calsync has no CardDAV service.\n", status=404, content_type="text/plain; charset=utf-8")


@method_decorator(csrf_exempt, name="dispatch")
class DavView(View):
    http_method_names = [name.lower() for name in (*HANDLERS, "OPTIONS")]
    at_site_root = False  # True: the request is for "/" (PROPFIND/OPTIONS only, see ``with_dav_at_site_root``)

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
            resource = Resource(Kind.ROOT, request.path, user) if self.at_site_root else resolve(user, path)
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


_site_root_dav = DavView.as_view(at_site_root=True)


def with_dav_at_site_root(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """``view`` for "/", except PROPFIND and OPTIONS, which the DAV layer answers (discovery).

    The DAV methods must skip CSRF (a client has no token); every other method keeps the CSRF
    check it had, applied here because the middleware sees only this exempt wrapper.
    """
    protected = csrf_protect(view)

    @wraps(view)
    def dispatch(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponseBase:
        if (request.method or "").upper() in SITE_ROOT_METHODS:
            return _site_root_dav(request)
        return protected(request, *args, **kwargs)

    return csrf_exempt(dispatch)


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
