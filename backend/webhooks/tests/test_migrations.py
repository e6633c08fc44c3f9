"""Migration 0003 moves the deliveries' bodies and webhook-ids into events, and back."""

import pytest
from django.core.management import call_command
from django.db import connection

pytestmark = pytest.mark.django_db(transaction=True)

WEBHOOK_SQL = """
    INSERT INTO webhooks_webhook (url, events, enabled, description, secret, created_at,
        updated_at, last_error, consecutive_failures, disabled_reason)
    VALUES ('https://example.com/hook', '{product.created}', true, '', 'whsec_x', now(), now(),
        '', 0, '')
    RETURNING id
"""
DELIVERY_SQL = """
    INSERT INTO webhooks_delivery (webhook_id, event_type, message_id, body, status, attempts,
        error, response_excerpt, created_at, updated_at)
    VALUES (%s, %s, %s, %s, 'succeeded', 1, '', '', now(), now())
"""
# A delivery, its redelivery (the same webhook-id), and a delivery of another event.
DELIVERIES = [
    ("product.created", "msg_1", '{"n":1}'),
    ("product.created", "msg_1", '{"n":1}'),
    ("product.deleted", "msg_2", '{"n":2}'),
]


def rows(sql: str) -> list[tuple[object, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        found: list[tuple[object, ...]] = cursor.fetchall()
    return found


def test_deliveries_keep_their_events_through_the_migration_and_back():
    call_command("migrate", "webhooks", "0002", verbosity=0)
    try:
        with connection.cursor() as cursor:
            cursor.execute(WEBHOOK_SQL)
            [webhook_id] = cursor.fetchone()
            for delivery in DELIVERIES:
                cursor.execute(DELIVERY_SQL, [webhook_id, *delivery])

        call_command("migrate", "webhooks", "0003", verbosity=0)
        assert rows(
            "SELECT e.type, e.message_id, e.body, e.fanned_out FROM webhooks_delivery d"
            " JOIN webhooks_event e ON e.id = d.event_id ORDER BY d.id"
        ) == [(*delivery, True) for delivery in DELIVERIES]
        assert rows("SELECT count(*) FROM webhooks_event") == [(2,)]

        call_command("migrate", "webhooks", "0002", verbosity=0)
        assert (
            rows("SELECT event_type, message_id, body FROM webhooks_delivery ORDER BY id")
            == DELIVERIES
        )
    finally:
        call_command("migrate", verbosity=0)
