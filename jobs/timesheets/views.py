"""Thin views: the Zammad webhook receiver. (The GDPR endpoints are calsync/ops/views.py.)"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from jobs.timesheets.models import WebhookEndpoint
from jobs.timesheets.webhook import (
    signature_valid,
    ticket_id_in,
    webhook_delivery_accept,
    webhook_delivery_claim,
    webhook_delivery_release,
)


class ZammadWebhookView(APIView):
    authentication_classes: list = []  # the HMAC signature is the authentication (and no CSRF)
    permission_classes = [AllowAny]

    @extend_schema(
        summary="Receive a Zammad webhook (X-Hub-Signature required)",
        description="202: queued. 200: a delivery (`X-Zammad-Delivery`) already received, nothing done.",
        request=None,
        responses={202: OpenApiTypes.OBJECT, 200: OpenApiTypes.OBJECT},
    )
    def post(self, request: Request, token: str) -> Response:
        endpoint = get_object_or_404(WebhookEndpoint.objects.select_related("job"), token=token, enabled=True)
        body = request._request.body  # the exact bytes Zammad signed, before any parsing
        if not signature_valid(secret=endpoint.secret, body=body, header=request.headers.get("X-Hub-Signature")):
            return Response({"detail": "missing or wrong X-Hub-Signature"}, status=status.HTTP_401_UNAUTHORIZED)
        ticket_id = ticket_id_in(body)
        if ticket_id is None:
            return Response({"detail": "the payload names no ticket"}, status=status.HTTP_400_BAD_REQUEST)
        # Claimed only once the signature holds: nobody without the secret can burn delivery ids.
        delivery = request.headers.get("X-Zammad-Delivery", "").strip()
        if delivery and not webhook_delivery_claim(endpoint=endpoint, delivery_id=delivery):
            return Response({"ticket": ticket_id, "run": None, "duplicate": True}, status=status.HTTP_200_OK)
        try:
            run = webhook_delivery_accept(endpoint=endpoint, ticket_id=ticket_id)
        except BaseException:
            if delivery:
                webhook_delivery_release(endpoint=endpoint, delivery_id=delivery)
            raise
        return Response({"ticket": ticket_id, "run": run.pk if run else None}, status=status.HTTP_202_ACCEPTED)
