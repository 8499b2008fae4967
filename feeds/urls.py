from django.urls import re_path

from feeds.views import ics_feed_serve

urlpatterns = [re_path(r"^(?P<path>.+)$", ics_feed_serve, name="ics-feed")]
