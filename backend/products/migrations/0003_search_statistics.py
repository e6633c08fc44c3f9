from django.db import migrations


class Migration(migrations.Migration):
    """Fine-grained planner statistics on the search table (a rebuild sets them again)."""

    dependencies = [("products", "0002_product_count_triggers")]

    operations = [
        migrations.RunSQL(
            "ALTER TABLE products_productsearch ALTER COLUMN sku SET STATISTICS 1000,"
            " ALTER COLUMN name SET STATISTICS 1000, ALTER COLUMN description SET STATISTICS 1000",
            migrations.RunSQL.noop,
        )
    ]
