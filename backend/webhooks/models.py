"""A Webhook (a receiver and the events it wants), an Event (a change to report) and a Delivery
(one event to one webhook)."""

import base64
import secrets

from django.contrib.postgres.fields import ArrayField
from django.db import models


class EventType(models.TextChoices):
    PRODUCT_CREATED = "product.created"
    PRODUCT_UPDATED = "product.updated"
    PRODUCT_DELETED = "product.deleted"
    IMPORT_COMPLETED = "import.completed"
    IMPORT_FAILED = "import.failed"
    PRODUCTS_BULK_DELETED = "products.bulk_deleted"
    IMPORT_CANCELLED = "import.cancelled"
    # A revert of an import or a bulk delete completed: the products are as they were.
    JOB_REVERTED = "job.reverted"


def new_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and the base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


class Webhook(models.Model):
    url = models.URLField(max_length=2048)
    events = ArrayField(models.CharField(max_length=40, choices=EventType.choices))
    enabled = models.BooleanField(default=True)
    description = models.CharField(max_length=255, blank=True, default="")
    secret = models.CharField(max_length=100, default=new_secret)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # The last real attempt of any delivery (the test button does not count).
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_response_time_ms = models.PositiveIntegerField(null=True, blank=True)
    last_delivery_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True, default="")
    # Deliveries in a row that failed every attempt; a success resets it.
    consecutive_failures = models.PositiveIntegerField(default=0)
    # Why the service disabled it (empty when a user did, or when it is enabled).
    disabled_reason = models.CharField(max_length=500, blank=True, default="")
    # Set while the URL gets no answer at all (timeout, refused, DNS): until then, deliveries are
    # not sent, so that a dead receiver does not hold a worker 10 s per delivery.
    unreachable_since = models.DateTimeField(null=True, blank=True)
    unreachable_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.url


class Event(models.Model):
    """A change to report, written in the transaction of the change; the dispatcher then makes
    one Delivery of it for each enabled webhook subscribed to its type."""

    type = models.CharField(max_length=40, choices=EventType.choices)
    # The `webhook-id` header: the same to every webhook, on every attempt and on a redelivery.
    message_id = models.CharField(max_length=40)
    # The exact JSON body sent, kept as text so every attempt signs and sends the same bytes.
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    # Whether the dispatcher has made its deliveries.
    fanned_out = models.BooleanField(default=False)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["id"], name="event_new_idx", condition=models.Q(fanned_out=False))
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.message_id}"


class Delivery(models.Model):
    """One event to one webhook, through all its attempts; the fields describe the last attempt."""

    class Status(models.TextChoices):
        PENDING = "pending"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    response_excerpt = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    # When a pending delivery is due; while a dispatcher holds it, when its hold ends.
    next_attempt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "deliveries"
        indexes = [
            models.Index(fields=["webhook", "-id"], name="delivery_webhook_idx"),
            # What the dispatcher looks for: pending deliveries by due time.
            models.Index(
                fields=["next_attempt_at", "id"],
                name="delivery_due_idx",
                condition=models.Q(status="pending"),
            ),
        ]

    def __str__(self) -> str:
        return f"event {self.event_id} -> webhook {self.webhook_id}: {self.status}"
