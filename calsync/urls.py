from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularSwaggerView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/openapi.json", SpectacularJSONAPIView.as_view(), name="openapi"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="openapi"), name="api-docs"),
    path("api/", include("accounts.urls")),
    path("api/", include("jobs.urls")),
    path("api/", include("jobs.timesheets.urls")),
    path("api/", include("feeds.api_urls")),
    path("ics/", include("feeds.urls")),
    path("", include("booking.urls")),  # /book/ and /api/availability, /api/appointments, ...
]
