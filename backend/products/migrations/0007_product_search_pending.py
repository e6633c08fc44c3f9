"""The search table is kept in step row by row: writes mark their products pending.

Before, an import marked the whole search table stale and a rebuild from scratch followed, while
every search read the products with ILIKE. Now statement-level triggers mark each product that a
statement creates, deletes, or changes the text of in `ProductSearchPending`, in the writer's
transaction, and the search upkeep applies those rows (ADR 20 in docs/architecture.md). A table
that was stale when this runs gets every product marked, which the upkeep turns into a rebuild.
"""

from django.db import migrations, models

PRODUCTS = "products_product"
PENDING = "products_productsearchpending"
STATE = "products_searchindexstate"
VERSIONS = "products_search_pending_version"

# Each statement's marks take a new version, and lock their rows until the writer commits: the
# upkeep skips a locked row, and deletes only the version it applied (products.search_upkeep).
# In no particular order (a sort of each statement's rows doubled the marks' cost): only the API
# and the one running import write marks, the API a row at a time, and the upkeep never waits
# for one, so no two writers can hold marks crosswise.
MARK = (
    f"INSERT INTO {PENDING} (product_id, version)"
    f" SELECT id, version FROM {{rows}}, (SELECT nextval('{VERSIONS}') AS version) v"
    " ON CONFLICT (product_id) DO UPDATE SET version = EXCLUDED.version"
)
CHANGED = (
    "(SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id"
    " WHERE (n.sku, n.name, n.description) IS DISTINCT FROM (o.sku, o.name, o.description)) c"
)

FORWARD = f"""
CREATE SEQUENCE {VERSIONS};

CREATE FUNCTION products_search_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {MARK.format(rows="inserted")};
    RETURN NULL;
END $$;

CREATE FUNCTION products_search_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {MARK.format(rows=CHANGED)};
    RETURN NULL;
END $$;

CREATE FUNCTION products_search_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {MARK.format(rows="deleted")};
    RETURN NULL;
END $$;

CREATE TRIGGER products_search_inserted AFTER INSERT ON {PRODUCTS}
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION products_search_inserted();
CREATE TRIGGER products_search_updated AFTER UPDATE ON {PRODUCTS}
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION products_search_updated();
CREATE TRIGGER products_search_deleted AFTER DELETE ON {PRODUCTS}
    REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION products_search_deleted();

-- A table marked stale by an import before this migration: every product is pending.
{MARK.format(rows=f"(SELECT id FROM {PRODUCTS} WHERE EXISTS (SELECT FROM {STATE} WHERE NOT fresh)) p")};
"""

BACKWARD = f"""
DROP TRIGGER products_search_deleted ON {PRODUCTS};
DROP TRIGGER products_search_updated ON {PRODUCTS};
DROP TRIGGER products_search_inserted ON {PRODUCTS};
DROP FUNCTION products_search_deleted();
DROP FUNCTION products_search_updated();
DROP FUNCTION products_search_inserted();
DROP SEQUENCE {VERSIONS};
-- Pending rows left: the table is stale, as it was marked before.
UPDATE {STATE} SET fresh = false WHERE EXISTS (SELECT 1 FROM {PENDING});
INSERT INTO {STATE} (id, fresh, generation)
    SELECT 1, false, 1 WHERE EXISTS (SELECT 1 FROM {PENDING}) ON CONFLICT (id) DO NOTHING;
"""


class Migration(migrations.Migration):
    dependencies = [("products", "0006_product_count_deltas")]

    operations = [
        migrations.CreateModel(
            name="ProductSearchPending",
            fields=[
                ("product_id", models.BigIntegerField(primary_key=True, serialize=False)),
                ("version", models.BigIntegerField()),
            ],
        ),
        migrations.RunSQL(FORWARD, BACKWARD),
        migrations.RemoveField(model_name="searchindexstate", name="fresh"),
    ]
