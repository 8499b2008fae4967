"""Thin views: the GDPR endpoints (staff only). The health probes are calsync/ops/health.py."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from calsync.ops.gdpr import gdpr_export, gdpr_purge


class EmailSerializer(serializers.Serializer):
    email = serializers.EmailField()


class GdprExportView(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(
        summary="Everything calsync holds about a person", parameters=[EmailSerializer], responses=OpenApiTypes.OBJECT
    )
    def get(self, request: Request) -> Response:
        query = EmailSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        return Response(gdpr_export(email=query.validated_data["email"]))


class GdprPurgeView(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(
        summary="Remove everything calsync holds about a person (audited)",
        request=EmailSerializer,
        responses=OpenApiTypes.OBJECT,
    )
    def post(self, request: Request) -> Response:
        body = EmailSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return Response(gdpr_purge(email=body.validated_data["email"], actor=request.user))
