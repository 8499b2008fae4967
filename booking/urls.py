from django.urls import path

from booking.views import booking_page

urlpatterns = [path("book/", booking_page, name="booking-page")]
