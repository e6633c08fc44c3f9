import json
from typing import Any

from rest_framework import serializers

from .guard import check_url
from .models import Delivery, EventType, Webhook

EVENT_NAMES = ", ".join(EventType.values)
# What the service records about a webhook: shown, never written by clients.
STATUS_FIELDS = [
    "created_at",
    "updated_at",
    "last_status_code",
    "last_response_time_ms",
    "last_delivery_at",
    "last_error",
    "consecutive_failures",
    "disabled_reason",
]


class WebhookSerializer(serializers.ModelSerializer[Webhook]):
    # A plain field: Django's URLValidator would refuse `http://2130706433/` with a vague message,
    # where the guard says what the address is.
    url = serializers.CharField(max_length=2048)
    events = serializers.ListField(
        child=serializers.ChoiceField(
            choices=EventType.choices,
            error_messages={"invalid_choice": f'"{{input}}" is not an event; use {EVENT_NAMES}.'},
        ),
        allow_empty=False,
        error_messages={"empty": f"Choose at least one event: {EVENT_NAMES}."},
    )

    class Meta:
        model = Webhook
        fields = ["id", "url", "events", "enabled", "description", *STATUS_FIELDS]
        read_only_fields = ["id", *STATUS_FIELDS]

    def validate_url(self, value: str) -> str:
        value = value.strip()
        try:
            check_url(value)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from exc
        return value

    def validate_events(self, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))  # without repeats, in the order given


class WebhookWithSecretSerializer(WebhookSerializer):
    """The answer to create and rotate_secret: the only ones that show the secret."""

    class Meta(WebhookSerializer.Meta):
        fields = [*WebhookSerializer.Meta.fields, "secret"]
        read_only_fields = [*WebhookSerializer.Meta.read_only_fields, "secret"]


class WebhookTestResultSerializer(serializers.Serializer[dict[str, Any]]):
    ok = serializers.BooleanField()
    status_code = serializers.IntegerField(allow_null=True)
    response_time_ms = serializers.IntegerField(allow_null=True)
    error = serializers.CharField(allow_null=True)


class DeliverySerializer(serializers.ModelSerializer[Delivery]):
    event = serializers.CharField(source="event.type")
    message_id = serializers.CharField(source="event.message_id")
    payload = serializers.SerializerMethodField()

    class Meta:
        model = Delivery
        fields = [
            "id",
            "webhook",
            "event",
            "message_id",
            "status",
            "attempts",
            "status_code",
            "duration_ms",
            "error",
            "response_excerpt",
            "payload",
            "created_at",
            "updated_at",
            "last_attempt_at",
            "next_attempt_at",
        ]
        read_only_fields = fields

    def get_payload(self, delivery: Delivery) -> Any:
        return json.loads(delivery.event.body)
