"""The feeds API: parse, call a service, render."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import status as http_status
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from feeds.models import IcsFeed
from feeds.selectors import ics_feed_list_for
from feeds.serializers import IcsFeedSerializer, IcsFeedStatusSerializer, ics_feed_url
from feeds.services import ics_feed_create, ics_feed_sync_request, ics_feed_update


class IcsFeedViewSet(viewsets.ModelViewSet):
    serializer_class = IcsFeedSerializer
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> QuerySet[IcsFeed]:
        return ics_feed_list_for(user=self.request.user)

    def perform_create(self, serializer: IcsFeedSerializer) -> None:
        serializer.instance = ics_feed_create(owner=self.request.user, **serializer.validated_data)

    def perform_update(self, serializer: IcsFeedSerializer) -> None:
        serializer.instance = ics_feed_update(
            feed=serializer.instance, user=self.request.user, **serializer.validated_data
        )

    @extend_schema(summary="Re-render the feed now", request=None, responses={202: IcsFeedStatusSerializer})
    @action(detail=True, methods=["post"])
    def sync(self, request: Request, pk: str | None = None) -> Response:
        feed = self.get_object()
        ics_feed_sync_request(feed=feed)
        return Response(self._status(feed), status=http_status.HTTP_202_ACCEPTED)

    @extend_schema(summary="When the feed was last rendered, and how", responses=IcsFeedStatusSerializer)
    @action(detail=True, methods=["get"])
    def status(self, request: Request, pk: str | None = None) -> Response:
        return Response(self._status(self.get_object()))

    def _status(self, feed: IcsFeed) -> dict:
        return IcsFeedStatusSerializer(
            {
                "last_synced_at": feed.last_synced_at,
                "last_error": feed.last_error,
                "event_count": feed.event_count,
                "url": ics_feed_url(feed, self.request),
            }
        ).data
