"""The product count becomes a sum of per-statement deltas instead of one row every writer locks.

The one row of `ProductCount` serialized every transaction that inserted or deleted products,
and made an import that held it for its whole transaction deadlock with API writes, unless the
import locked the table (ADR 17 in docs/architecture.md). Now each statement's trigger INSERTs a
row of +n or -n into `ProductCountDelta`, and a TRUNCATE of the products empties it; the count is
the sum (`products.counts`). The trigger functions keep their names; the first delta is the
count of the products as they are.
"""

from django.db import migrations, models

PRODUCTS = "products_product"
DELTAS = "products_productcountdelta"
COUNT = "products_productcount"
# products.counts.COMPACT_LOCK_KEY: a reset waits for a fold under way, so that none is lost.
COMPACT_LOCK_KEY = 7_311_003

FORWARD = f"""
LOCK TABLE {PRODUCTS} IN SHARE MODE;
INSERT INTO {DELTAS} (delta) SELECT count(*) FROM {PRODUCTS} HAVING count(*) > 0;

CREATE OR REPLACE FUNCTION products_count_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {DELTAS} (delta) SELECT count(*) FROM inserted HAVING count(*) > 0;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION products_count_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {DELTAS} (delta) SELECT -count(*) FROM deleted HAVING count(*) > 0;
    RETURN NULL;
END $$;

-- A TRUNCATE holds the products exclusively: no other writer has a delta under way.
CREATE OR REPLACE FUNCTION products_count_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock({COMPACT_LOCK_KEY});
    DELETE FROM {DELTAS};
    RETURN NULL;
END $$;
"""

BACKWARD = f"""
LOCK TABLE {PRODUCTS} IN SHARE MODE;
INSERT INTO {COUNT} (id, total) VALUES (1, (SELECT count(*) FROM {PRODUCTS}));

CREATE OR REPLACE FUNCTION products_count_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE {COUNT} SET total = total + (SELECT count(*) FROM inserted) WHERE id = 1;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION products_count_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE {COUNT} SET total = total - (SELECT count(*) FROM deleted) WHERE id = 1;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION products_count_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {COUNT} (id, total) VALUES (1, 0) ON CONFLICT (id) DO UPDATE SET total = 0;
    RETURN NULL;
END $$;
"""


class Migration(migrations.Migration):
    dependencies = [("products", "0005_sku_key_unicode")]

    operations = [
        migrations.CreateModel(
            name="ProductCountDelta",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("delta", models.BigIntegerField()),
            ],
        ),
        migrations.RunSQL(FORWARD, BACKWARD),
        migrations.DeleteModel(name="ProductCount"),
    ]
