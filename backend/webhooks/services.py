"""Webhook writes, events, redelivery and the test button.

`emit_event` is the one entry point for the other apps: call it inside the transaction of the
write it reports. Its Event row belongs to that transaction; once it commits, the waker
(`waking.wake`) queues the dispatcher (`dispatch.py`), which makes a delivery of it for each
subscribed webhook and sends them.
"""

import json
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone
from rest_framework.exceptions import APIException

from . import sender, waking
from .guard import guarded_pool
from .models import Delivery, Event, EventType, Webhook, new_secret
from .signing import new_message_id

TEST_EVENT = "webhook.test"
TEST_TIMEOUT = 5.0

# The event, if an enabled webhook is subscribed to its type: one statement, since every write
# that reports a change runs it.
NEW_EVENT_SQL = f"""
    INSERT INTO {Event._meta.db_table} (type, message_id, body, created_at, fanned_out)
    SELECT %(type)s, %(message_id)s, %(body)s, %(created_at)s, false
    WHERE EXISTS (
        SELECT FROM {Webhook._meta.db_table}
        WHERE enabled AND events @> ARRAY[%(type)s]::varchar(40)[]
    )
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


def emit_event(*, event_type: str, data: Mapping[str, Any]) -> bool:
    """Record an event for the webhooks subscribed to `event_type`; whether there are any.

    One row, written in the caller's transaction (so a rolled-back write sends nothing, and a
    committed one is always sent), and the dispatcher woken when it commits. The request pays
    for one row whatever the number of webhooks: the dispatcher makes their deliveries.
    """
    if event_type not in EventType.values:
        raise ValueError(f"unknown event type {event_type!r}")
    # The payload's timestamp, on the clock of the webhooks' creation times (not the start of
    # the transaction, which may be an import's): a webhook gets the events after its creation.
    now = timezone.now()
    body = json.dumps(
        {"type": event_type, "timestamp": now.isoformat(), "data": data},
        cls=DjangoJSONEncoder,
        separators=(",", ":"),
    )
    with connection.cursor() as cursor:
        cursor.execute(
            NEW_EVENT_SQL,
            {"type": event_type, "message_id": new_message_id(), "body": body, "created_at": now},
        )
        recorded: bool = cursor.rowcount > 0
    if recorded:
        transaction.on_commit(waking.wake)
    return recorded


def redeliver(*, delivery: Delivery) -> Delivery:
    """Send a finished delivery again: a new delivery of the same event (the same body and
    webhook-id)."""
    if delivery.status == Delivery.Status.PENDING:
        raise Conflict("This delivery is still pending: it will be attempted again by itself.")
    if not delivery.webhook.enabled:
        raise Conflict("The webhook is disabled: enable it, then redeliver.")
    again = Delivery.objects.create(
        webhook=delivery.webhook, event=delivery.event, next_attempt_at=timezone.now()
    )
    transaction.on_commit(waking.wake)
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
