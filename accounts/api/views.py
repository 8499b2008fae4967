"""The accounts API: parse, call a service, render."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import Account
from accounts.selectors import account_list_for, collections_for
from accounts.serializers import AccountSerializer, CheckResultSerializer, CollectionSerializer, ErrorSerializer
from accounts.services import (
    account_check,
    account_create,
    account_delete,
    account_discover_collections,
    account_update,
)


@extend_schema_view(
    list=extend_schema(summary="List accounts", description="Your accounts; staff see every account."),
    create=extend_schema(summary="Create an account", description="The owner is the requesting user."),
    retrieve=extend_schema(summary="Show an account"),
    update=extend_schema(summary="Replace an account", description="Omit `password` to keep the stored one."),
    partial_update=extend_schema(summary="Change an account", description="Omit `password` to keep the stored one."),
    destroy=extend_schema(
        summary="Delete an account and its collections",
        responses={204: None, 409: OpenApiResponse(ErrorSerializer, description="Sync jobs still use it.")},
    ),
)
class AccountViewSet(viewsets.ModelViewSet):
    serializer_class = AccountSerializer
    # Ids are numbers: anything else is a 404 from the URL resolver, never a database error.
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> QuerySet[Account]:
        return account_list_for(user=self.request.user)

    # Errors the services raise (invalid data, an account in use) are answered by
    # ``calsync.errors.api_exception_handler``.
    def perform_create(self, serializer: AccountSerializer) -> None:
        serializer.instance = account_create(owner=self.request.user, **serializer.validated_data)

    def perform_update(self, serializer: AccountSerializer) -> None:
        account_update(account=serializer.instance, data=serializer.validated_data)

    def perform_destroy(self, instance: Account) -> None:
        account_delete(account=instance)

    @extend_schema(
        operation_id="accounts_test",
        summary="Test the connection",
        description=(
            "Connects with the stored settings and records the result on the account. A refused login "
            "or an unreachable server is a result (`ok: false` with a diagnosis), not an error."
        ),
        request=None,
        responses={200: CheckResultSerializer},
    )
    @action(detail=True, methods=["post"])
    def test(self, request: Request, pk: str | None = None) -> Response:
        account = self.get_object()
        result = account_check(account=account)
        data = {
            "ok": result.ok,
            "message": result.message,
            "checked_at": account.last_checked_at,
            "principal_url": result.principal_url,
            "collections": result.collections,
        }
        return Response(CheckResultSerializer(data).data)

    @extend_schema(
        operation_id="accounts_collections",
        summary="Discover collections",
        description=(
            "Asks the server for the account's calendars and address books (both, whichever the account's "
            "kind: a sync job copies both), with each one's `item_count`, stores them (matched by URL; "
            "vanished ones are removed) and returns them. When the server cannot be asked, the answer is "
            "502 with a diagnosis and the stored collections are kept."
        ),
        parameters=[
            OpenApiParameter(
                "discover",
                OpenApiTypes.BOOL,
                description="`false` returns the stored collections without contacting the server.",
                default=True,
            )
        ],
        responses={
            200: CollectionSerializer(many=True),
            502: OpenApiResponse(ErrorSerializer, description="The server could not be asked."),
        },
    )
    @action(detail=True, methods=["get"], pagination_class=None)
    def collections(self, request: Request, pk: str | None = None) -> Response:
        account = self.get_object()
        try:
            discover = serializers.BooleanField().to_internal_value(request.query_params.get("discover", "true"))
        except serializers.ValidationError as exc:
            raise serializers.ValidationError({"discover": exc.detail}) from None
        if not discover:
            return Response(CollectionSerializer(collections_for(account=account), many=True).data)
        collections = account_discover_collections(account=account)  # a ConnectorError is a 502
        return Response(CollectionSerializer(collections, many=True).data)
