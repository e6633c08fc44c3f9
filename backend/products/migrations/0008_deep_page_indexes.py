"""The name's sort index includes `name`, so deep pages by name skip rows index-only (ADR 18)."""

import django.db.models.functions.text
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("products", "0007_product_search_pending"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="product", name="product_name_id_idx"),
        migrations.AddIndex(
            model_name="product",
            index=models.Index(
                django.db.models.functions.text.Lower("name"),
                models.F("id"),
                include=["name"],
                name="product_name_order_idx",
            ),
        ),
    ]
