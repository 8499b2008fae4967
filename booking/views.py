"""The booking page: the studio's public form at /book/ (it talks to the booking API)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from booking.selectors import artist_list_public


def booking_page(request: HttpRequest) -> HttpResponse:
    return render(request, "booking/book.html", {"artists": artist_list_public()})
