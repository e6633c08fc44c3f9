"""The delete trigger, too, leaves its products unmarked while `products.search_marks` is off.

A revert of a large import deletes the products that it created, row by row (issue 17): like a
large import (migration 0009), it marks the whole catalog once instead, and the search upkeep
rebuilds.
"""

import importlib

from django.db import migrations

marks = importlib.import_module("products.migrations.0007_product_search_pending")
conditional = importlib.import_module("products.migrations.0009_search_marks_can_be_off")

MARK_DELETED = marks.MARK.format(rows="deleted")


class Migration(migrations.Migration):
    dependencies = [("products", "0009_search_marks_can_be_off")]

    operations = [
        migrations.RunSQL(
            conditional.CONDITIONAL.format(kind="deleted", mark=MARK_DELETED),
            conditional.UNCONDITIONAL.format(kind="deleted", mark=MARK_DELETED),
        )
    ]
