"""Webhook writes, events, redelivery and the test button.

`emit_event` is the one entry point for the other apps: call it inside the transaction of the
write it reports. Its Delivery rows belong to that transaction; the dispatcher (`dispatch.py`)
sends them once it commits.
"""

import json
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone
from rest_framework.exceptions import APIException

from . import dispatch, sender
from .guard import guarded_pool
from .models import Delivery, Event, Webhook, new_secret
from .signing import new_message_id

TEST_EVENT = "webhook.test"
TEST_TIMEOUT = 5.0

# One row per enabled webhook subscribed to the event.
NEW_DELIVERIES_SQL = """
    INSERT INTO webhooks_delivery (
        webhook_id, event_type, message_id, body, status, attempts, error, response_excerpt,
        created_at, updated_at, next_attempt_at
    )
    SELECT id, %s, %s, %s, 'pending', 0, '', '', now(), now(), now()
    FROM webhooks_webhook WHERE enabled AND events @> ARRAY[%s]::varchar(40)[]
    ORDER BY id
"""


class Conflict(APIException):
    status_code = 409
    default_code = "conflict"


def create_webhook(
    *, url: str, events: list[str], enabled: bool = True, description: str = ""
) -> Webhook:
    return Webhook.objects.create(url=url, events=events, enabled=enabled, description=description)


def update_webhook(*, webhook: Webhook, **fields: Any) -> Webhook:
    """Change what a user may change; enabling a webhook again forgets why it was disabled."""
    if fields.get("enabled") and not webhook.enabled:
        webhook.disabled_reason = ""
        webhook.consecutive_failures = 0
        webhook.unreachable_since = webhook.unreachable_until = None
    if fields.get("enabled") is False:
        webhook.disabled_reason = ""
    for name, value in fields.items():
        setattr(webhook, name, value)
    webhook.save()
    return webhook


def rotate_secret(*, webhook: Webhook) -> Webhook:
    """A new secret, in force for every attempt from now on (retries included)."""
    webhook.secret = new_secret()
    webhook.save(update_fields=["secret", "updated_at"])
    return webhook


def emit_event(*, event_type: str, data: Mapping[str, Any]) -> int:
    """Record `event_type` for every enabled webhook subscribed to it; returns how many.

    One pending Delivery row per webhook, written in the caller's transaction by one statement
    (so a rolled-back write sends nothing, and a committed one always has its deliveries), and
    the dispatcher woken when it commits.
    """
    if event_type not in Event.values:
        raise ValueError(f"unknown event type {event_type!r}")
    body = json.dumps(
        {"type": event_type, "timestamp": timezone.now().isoformat(), "data": data},
        cls=DjangoJSONEncoder,
        separators=(",", ":"),
    )
    with connection.cursor() as cursor:
        cursor.execute(NEW_DELIVERIES_SQL, [event_type, new_message_id(), body, event_type])
        count: int = cursor.rowcount
    if count:
        transaction.on_commit(dispatch.wake)
    return count


def redeliver(*, delivery: Delivery) -> Delivery:
    """Send a finished delivery again, as a new delivery with the same body and webhook-id."""
    if delivery.status == Delivery.Status.PENDING:
        raise Conflict("This delivery is still pending: it will be attempted again by itself.")
    if not delivery.webhook.enabled:
        raise Conflict("The webhook is disabled: enable it, then redeliver.")
    again = Delivery.objects.create(
        webhook=delivery.webhook,
        event_type=delivery.event_type,
        message_id=delivery.message_id,
        body=delivery.body,
        next_attempt_at=timezone.now(),
    )
    transaction.on_commit(dispatch.wake)
    return again


def send_test_event(*, webhook: Webhook) -> dict[str, Any]:
    """A signed `webhook.test` event, sent now (at most 5 s): `{ok, status_code,
    response_time_ms, error}`. Any failure is an answer, never an exception. Not logged."""
    body = json.dumps(
        {
            "type": TEST_EVENT,
            "timestamp": timezone.now().isoformat(),
            "data": {"webhook_id": webhook.pk, "message": "A test event from Product Importer."},
        },
        separators=(",", ":"),
    )
    with guarded_pool() as pool:
        outcome = sender.send(
            pool,
            url=webhook.url,
            secret=webhook.secret,
            message_id=new_message_id(),
            body=body,
            timeout=min(TEST_TIMEOUT, settings.WEBHOOK_TIMEOUT),
        )
    return {
        "ok": outcome.ok,
        "status_code": outcome.status_code,
        "response_time_ms": outcome.duration_ms,
        "error": outcome.error or None,
    }
