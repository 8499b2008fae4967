from django.urls import re_path

from calsync.ops.health import DetailedHealthView, HealthView
from calsync.ops.views import GdprExportView, GdprPurgeView

urlpatterns = [
    re_path(r"^health/?$", HealthView.as_view(), name="health"),
    re_path(r"^health/detailed/?$", DetailedHealthView.as_view(), name="health-detailed"),
    re_path(r"^gdpr/export/?$", GdprExportView.as_view(), name="gdpr-export"),
    re_path(r"^gdpr/purge/?$", GdprPurgeView.as_view(), name="gdpr-purge"),
]
