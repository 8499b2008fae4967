from django.urls import re_path

from calsync.ops.health import DetailedHealthView, HealthView

urlpatterns = [
    re_path(r"^health/?$", HealthView.as_view(), name="health"),
    re_path(r"^health/detailed/?$", DetailedHealthView.as_view(), name="health-detailed"),
]
