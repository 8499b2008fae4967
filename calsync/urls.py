from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from feeds.dav import views as dav_views

admin.autodiscover()

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/openapi.json", SpectacularJSONAPIView.as_view(), name="openapi"),
    # The split view serves its start-up script as a file, so the CSP needs no inline script.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="openapi"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="openapi"), name="api-redoc"),
    path("api/", include("calsync.ops.urls")),  # /api/health, /api/health/detailed, /api/gdpr/
    path("api/", include("accounts.api.urls")),
    path("api/", include("jobs.api.urls")),
    path("api/", include("jobs.timesheets.urls")),
    path("api/", include("jobs.bulk.urls")),
    path("api/", include("feeds.api.urls")),
    path("api/", include("booking.api.urls")),  # /api/availability, /api/appointments, ...
    path("ics/", include("feeds.urls")),
    path(".well-known/caldav", dav_views.well_known, name="dav-well-known"),
    path(".well-known/carddav", dav_views.no_carddav, name="dav-well-known-carddav"),
    re_path(r"^dav/(?P<path>(?s:.*))$", dav_views.DavView.as_view(), name="dav"),
    path("", include("calsync.console.urls")),  # / (the dashboard, staff) and its live JSON
    path("", include("booking.urls")),  # /book/, the booking page
]

handler404 = "calsync.errors.not_found"
handler500 = "calsync.errors.server_error"
