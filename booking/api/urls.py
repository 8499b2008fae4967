from django.urls import path
from rest_framework.routers import SimpleRouter

from booking.api import availability, views

router = SimpleRouter()
# Accept /api/appointments and /api/appointments/ alike; clients disagree about the slash.
router.trailing_slash = "/?"
router.register("appointments", views.AppointmentViewSet, basename="appointment")
router.register("admin/calendars", views.ArtistCalendarViewSet, basename="artist-calendar")

urlpatterns = [
    path("availability", availability.AvailabilityView.as_view(), name="availability"),
    path("artists", views.artist_list_view, name="booking-artists"),
    path("artists/<str:ref>/slots", views.slots_view, name="booking-slots"),
    path("booking/sync", views.sync_view, name="booking-sync"),
    *router.urls,
]
