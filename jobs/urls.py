from django.urls import re_path

from jobs.views import DetailedHealthView, HealthView

# Same slash rule as the router in accounts.urls: with or without, both answer.
urlpatterns = [
    re_path(r"^health/?$", HealthView.as_view(), name="health"),
    re_path(r"^health/detailed/?$", DetailedHealthView.as_view(), name="health-detailed"),
]
