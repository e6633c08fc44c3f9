"""Keep `ProductCount` exact whatever writes the products: the API, an import, SQL by hand.

Statement-level triggers with transition tables run once per statement, not once per row.
"""

from django.db import migrations

COUNT = "products_productcount"
PRODUCTS = "products_product"

FORWARD = f"""
INSERT INTO {COUNT} (id, total) VALUES (1, (SELECT count(*) FROM {PRODUCTS}));

CREATE FUNCTION products_count_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE {COUNT} SET total = total + (SELECT count(*) FROM inserted) WHERE id = 1;
    RETURN NULL;
END $$;

CREATE FUNCTION products_count_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE {COUNT} SET total = total - (SELECT count(*) FROM deleted) WHERE id = 1;
    RETURN NULL;
END $$;

CREATE FUNCTION products_count_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {COUNT} (id, total) VALUES (1, 0) ON CONFLICT (id) DO UPDATE SET total = 0;
    RETURN NULL;
END $$;

CREATE TRIGGER products_count_inserted AFTER INSERT ON {PRODUCTS}
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION products_count_inserted();
CREATE TRIGGER products_count_deleted AFTER DELETE ON {PRODUCTS}
    REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION products_count_deleted();
CREATE TRIGGER products_count_truncated AFTER TRUNCATE ON {PRODUCTS}
    FOR EACH STATEMENT EXECUTE FUNCTION products_count_truncated();
"""

BACKWARD = f"""
DROP TRIGGER products_count_truncated ON {PRODUCTS};
DROP TRIGGER products_count_deleted ON {PRODUCTS};
DROP TRIGGER products_count_inserted ON {PRODUCTS};
DROP FUNCTION products_count_truncated();
DROP FUNCTION products_count_deleted();
DROP FUNCTION products_count_inserted();
DELETE FROM {COUNT};
"""


class Migration(migrations.Migration):
    dependencies = [("products", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
