from django.urls import path

from calsync.console import views
from feeds.dav.views import with_dav_at_site_root

urlpatterns = [
    # PROPFIND/OPTIONS on / are CalDAV discovery (clients given the bare host); GET is the dashboard.
    path("", with_dav_at_site_root(views.dashboard), name="dashboard"),
    path("console/live.json", views.dashboard_live, name="dashboard-live"),
]
