"""A write of a large share of the catalog can leave its products unmarked, and mark the whole.

Marking each product that an import creates or renames (migration 0007) was most of the
import's cost over the floor: 4-5 s per 466,693 products (docs/benchmarks.md). An import that
writes more than the share of the catalog past which the search upkeep rebuilds anyway sets
`products.search_marks` to `off` for its transaction, so the insert and update triggers mark
nothing, and marks the whole catalog instead: one pending row for product 0, which no product
has (`products.search.WHOLE_CATALOG`). The delete trigger is unchanged: no bulk write deletes
row by row.
"""

import importlib

from django.db import migrations

marks = importlib.import_module("products.migrations.0007_product_search_pending")

CONDITIONAL = """
CREATE OR REPLACE FUNCTION products_search_{kind}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('products.search_marks', true) IS DISTINCT FROM 'off' THEN
        {mark};
    END IF;
    RETURN NULL;
END $$;
"""
UNCONDITIONAL = """
CREATE OR REPLACE FUNCTION products_search_{kind}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {mark};
    RETURN NULL;
END $$;
"""


def functions(template: str) -> str:
    return "".join(
        template.format(kind=kind, mark=marks.MARK.format(rows=rows))
        for kind, rows in (("inserted", "inserted"), ("updated", marks.CHANGED))
    )


class Migration(migrations.Migration):
    dependencies = [("products", "0008_deep_page_indexes")]

    operations = [migrations.RunSQL(functions(CONDITIONAL), functions(UNCONDITIONAL))]
