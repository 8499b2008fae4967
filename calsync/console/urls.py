from django.urls import path

from calsync.console import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("console/live.json", views.dashboard_live, name="dashboard-live"),
]
