"""Events: an event's body and webhook-id are stored once, and deliveries point to them."""

import django.db.models.deletion
from django.db import migrations, models

EVENT_TYPES = [
    ("product.created", "Product Created"),
    ("product.updated", "Product Updated"),
    ("product.deleted", "Product Deleted"),
    ("import.completed", "Import Completed"),
    ("import.failed", "Import Failed"),
    ("products.bulk_deleted", "Products Bulk Deleted"),
]
# One event per webhook-id of the existing deliveries (a redelivery shares its original's).
EVENTS_OF_DELIVERIES = """
    INSERT INTO webhooks_event (type, message_id, body, created_at, fanned_out)
    SELECT DISTINCT ON (message_id) event_type, message_id, body, created_at, true
    FROM webhooks_delivery ORDER BY message_id, id;
    UPDATE webhooks_delivery AS d SET event_id = e.id
    FROM webhooks_event AS e WHERE e.message_id = d.message_id;
    SET CONSTRAINTS ALL IMMEDIATE;  -- check the new keys now: the table is altered next
    SET CONSTRAINTS ALL DEFERRED;
"""
DELIVERIES_OF_EVENTS = """
    UPDATE webhooks_delivery AS d SET event_type = e.type, message_id = e.message_id, body = e.body
    FROM webhooks_event AS e WHERE e.id = d.event_id;
    SET CONSTRAINTS ALL IMMEDIATE;
    SET CONSTRAINTS ALL DEFERRED;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0002_dispatcher"),
    ]

    operations = [
        migrations.CreateModel(
            name="Event",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "type",
                    models.CharField(
                        choices=EVENT_TYPES,
                        max_length=40,
                    ),
                ),
                ("message_id", models.CharField(max_length=40)),
                ("body", models.TextField()),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("fanned_out", models.BooleanField(default=False)),
            ],
            options={
                "ordering": ["-id"],
                "indexes": [
                    models.Index(
                        condition=models.Q(("fanned_out", False)),
                        fields=["id"],
                        name="event_new_idx",
                    )
                ],
            },
        ),
        migrations.AddField(
            model_name="delivery",
            name="event",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="deliveries",
                to="webhooks.event",
            ),
        ),
        # Nullable first, so that going back can add them again before it fills them.
        migrations.AlterField(
            model_name="delivery",
            name="event_type",
            field=models.CharField(
                choices=EVENT_TYPES,
                max_length=40,
                null=True,
            ),
        ),
        migrations.AlterField(
            model_name="delivery",
            name="message_id",
            field=models.CharField(max_length=40, null=True),
        ),
        migrations.AlterField(
            model_name="delivery", name="body", field=models.TextField(null=True)
        ),
        migrations.RunSQL(EVENTS_OF_DELIVERIES, DELIVERIES_OF_EVENTS),
        migrations.AlterField(
            model_name="delivery",
            name="event",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="deliveries",
                to="webhooks.event",
            ),
        ),
        migrations.RemoveField(model_name="delivery", name="body"),
        migrations.RemoveField(model_name="delivery", name="event_type"),
        migrations.RemoveField(model_name="delivery", name="message_id"),
    ]
