from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from core.permissions import Rule
from core.schema import error_response

from . import services
from .models import Delivery, Webhook
from .serializers import (
    DeliverySerializer,
    WebhookSerializer,
    WebhookTestResultSerializer,
    WebhookWithSecretSerializer,
)


class WebhookViewSet(viewsets.ModelViewSet[Webhook]):
    """Webhooks: receivers of signed catalog events (Standard Webhooks).

    The secret is shown only in the answers to create and `rotate_secret`. A webhook that fails
    too many deliveries in a row is disabled; `disabled_reason` says why, and setting `enabled`
    back to true resets it.
    """

    queryset = Webhook.objects.all()
    serializer_class = WebhookSerializer
    # Webhooks send every change to a URL of their choice: an admin's, all of it.
    required_permissions = {
        "list": Rule("webhooks.view_webhook", "see webhooks"),
        "retrieve": Rule("webhooks.view_webhook", "see webhooks"),
        "deliveries": Rule("webhooks.view_webhook", "see webhook deliveries"),
        "create": Rule("webhooks.add_webhook", "add webhooks"),
        "update": Rule("webhooks.change_webhook", "change webhooks"),
        "partial_update": Rule("webhooks.change_webhook", "change webhooks"),
        "rotate_secret": Rule("webhooks.change_webhook", "change webhooks"),
        "test": Rule("webhooks.change_webhook", "test webhooks"),
        "redeliver": Rule("webhooks.change_webhook", "redeliver webhook events"),
        "destroy": Rule("webhooks.delete_webhook", "delete webhooks"),
    }

    @extend_schema(responses={201: WebhookWithSecretSerializer})
    def create(self, request: Request) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        webhook = services.create_webhook(**serializer.validated_data)
        return Response(WebhookWithSecretSerializer(webhook).data, status=status.HTTP_201_CREATED)

    def perform_update(self, serializer: WebhookSerializer) -> None:  # type: ignore[override]
        assert serializer.instance is not None
        serializer.instance = services.update_webhook(
            webhook=serializer.instance, **serializer.validated_data
        )

    @extend_schema(request=None, responses={200: WebhookWithSecretSerializer})
    @action(detail=True, methods=["post"])
    def rotate_secret(self, request: Request, pk: str | None = None) -> Response:
        """A new secret, used from the next attempt on; the old one stops working at once."""
        webhook = services.rotate_secret(webhook=self.get_object())
        return Response(WebhookWithSecretSerializer(webhook).data)

    @extend_schema(request=None, responses={200: WebhookTestResultSerializer})
    @action(detail=True, methods=["post"])
    def test(self, request: Request, pk: str | None = None) -> Response:
        """Send a signed `webhook.test` event now (timeout 5 s) and say how it went."""
        result = services.send_test_event(webhook=self.get_object())
        return Response(WebhookTestResultSerializer(result).data)

    @extend_schema(responses={200: DeliverySerializer(many=True)})
    @action(detail=True, methods=["get"])
    def deliveries(self, request: Request, pk: str | None = None) -> Response:
        """The delivery log, newest first: one row per event, with its last attempt."""
        queryset = Delivery.objects.filter(webhook=self.get_object()).select_related("event")
        page = self.paginate_queryset(queryset)  # type: ignore[arg-type]
        assert page is not None
        return self.get_paginated_response(DeliverySerializer(page, many=True).data)  # type: ignore[arg-type]

    @extend_schema(
        request=None,
        responses={
            202: DeliverySerializer,
            409: error_response("The delivery is still pending, or the webhook is disabled."),
        },
    )
    @action(
        detail=True,
        methods=["post"],
        url_path=r"deliveries/(?P<delivery_id>\d+)/redeliver",
        url_name="redeliver",
    )
    def redeliver(self, request: Request, pk: str | None = None, delivery_id: str = "") -> Response:
        """Send a finished delivery again: a new delivery, same body and webhook-id."""
        delivery = get_object_or_404(
            Delivery.objects.select_related("event"), pk=delivery_id, webhook=self.get_object()
        )
        again = services.redeliver(delivery=delivery)
        return Response(DeliverySerializer(again).data, status=status.HTTP_202_ACCEPTED)
