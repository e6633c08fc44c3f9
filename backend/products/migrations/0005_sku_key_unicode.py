"""The SKU key becomes `products_sku_key(sku)`: NFKC, trimmed, fully case-folded (`products.sku`).

Existing products whose new keys are equal are one SKU twice: the migration does not merge them
(which one would win?) but stops, changing nothing, and lists them, to be renamed or deleted
first. It also names the SKUs that hold invisible or control characters, which the API and the
import now refuse, so that they can be corrected; those are kept as they are.

It needs PostgreSQL 18 (`casefold()`, the `pg_unicode_fast` collation) and a UTF-8 database, and
refuses to run otherwise: a weaker key on older servers would be a second definition of a SKU.
"""

import unicodedata
from typing import Any

from django.core.management.base import CommandError
from django.db import migrations, models

import products.sku

PRODUCTS = "products_product"
# The one definition of a SKU's key (products.sku explains it). A plain SQL expression that the
# planner inlines wherever it is called, for which it must not be STRICT (a CASE is not strict).
# ASCII, one byte a character, takes a shortcut to the same key: NFKC leaves it as it is, and
# folding it is lowering A-Z (in "C", whatever the database's locale).
KEY_FUNCTION_SQL = """
CREATE FUNCTION products_sku_key(sku text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE
        WHEN octet_length(sku) = length(sku) THEN lower(btrim(sku) COLLATE "C") COLLATE "default"
        ELSE normalize(casefold(btrim(normalize(sku, NFKC)) COLLATE pg_unicode_fast), NFKC)
            COLLATE "default"
    END
"""
SHOWN = 20
FORBIDDEN_CATEGORIES = {"Cc", "Cf", "Cs", "Zl", "Zp"}


def check_server(apps: Any, schema_editor: Any) -> None:
    connection = schema_editor.connection
    if connection.pg_version < 180000:
        major, minor = divmod(connection.pg_version, 10000)
        raise CommandError(
            f"This PostgreSQL is {major}.{minor}; the SKU key needs PostgreSQL 18 or newer "
            "(casefold() and the pg_unicode_fast collation). Upgrade the server (make run and "
            "docker-compose.yml run 18), then run migrate again."
        )
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_encoding")
        [encoding] = cursor.fetchone()
    if encoding != "UTF8":
        raise CommandError(
            f"The database's encoding is {encoding}; the SKU key needs UTF8 (normalize() and "
            "casefold() work on Unicode). Create the database with ENCODING 'UTF8'."
        )


def describe(id_: int, sku: str) -> str:
    """The SKU and its id; spelled out when it is not NFC, as it looks like its NFC twin."""
    if unicodedata.is_normalized("NFC", sku):
        return f"{sku!r} (id {id_})"
    return f"{sku!r} (id {id_}, not NFC: {ascii(sku)})"


def refuse_collisions(apps: Any, schema_editor: Any) -> None:
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) OVER (), array_agg(id ORDER BY id), array_agg(sku ORDER BY id)"
            f" FROM {PRODUCTS} GROUP BY products_sku_key(sku) HAVING count(*) > 1"
            " ORDER BY min(id) LIMIT %s",
            [SHOWN],
        )
        groups = cursor.fetchall()
    if not groups:
        return
    total = groups[0][0]
    lines = [
        "  " + ", ".join(describe(id_, sku) for id_, sku in zip(ids, skus, strict=True))
        for _, ids, skus in groups
    ]
    more = [f"  ... and {total - len(groups)} more groups"] if total > len(groups) else []
    raise CommandError(
        f"{total} group(s) of products would share a SKU under the new SKU identity (letter case "
        "folded, Unicode normalized with NFKC, spaces trimmed), and a SKU is unique:\n"
        + "\n".join(lines + more)
        + "\nNothing was changed. Keep one product of each group: rename the others' SKUs "
        "(PATCH /api/products/<id>/ with a new sku, or the dashboard) or delete them, then run "
        "migrate again."
    )


def report_invisible_characters(apps: Any, schema_editor: Any) -> None:
    """Print the SKUs that the API and the import would now refuse (not an error)."""
    with schema_editor.connection.cursor() as cursor:
        # Only SKUs with a character outside printable ASCII can hold one.
        cursor.execute(f"SELECT id, sku FROM {PRODUCTS} WHERE sku !~ '^[ -~]*$' ORDER BY id")
        found = [
            (id_, sku)
            for id_, sku in cursor.fetchall()
            if any(unicodedata.category(char) in FORBIDDEN_CATEGORIES for char in sku)
        ]
    if not found:
        return
    shown = "\n".join(f"  {sku!r} (id {id_})" for id_, sku in found[:SHOWN])
    more = f"\n  ... and {len(found) - SHOWN} more" if len(found) > SHOWN else ""
    print(
        f"\n{len(found)} product(s) have a SKU with invisible or control characters, which the "
        f"API and the import now refuse; they are kept, but correct them:\n{shown}{more}"
    )


class Migration(migrations.Migration):
    dependencies = [("products", "0004_inactive_index")]

    operations = [
        migrations.RunPython(check_server, migrations.RunPython.noop),
        migrations.RunSQL(KEY_FUNCTION_SQL, "DROP FUNCTION products_sku_key(text)"),
        migrations.RunPython(refuse_collisions, migrations.RunPython.noop),
        migrations.SeparateDatabaseAndState(
            database_operations=[
                # varchar to text first, then the one rewrite of the table, which rebuilds the
                # unique index on the new keys. (Both in one ALTER TABLE fail on PostgreSQL 18.6:
                # "cache lookup failed for constraint".)
                migrations.RunSQL(
                    f"ALTER TABLE {PRODUCTS} ALTER COLUMN sku_key TYPE text",
                    f"ALTER TABLE {PRODUCTS} ALTER COLUMN sku_key TYPE varchar(255)",
                ),
                migrations.RunSQL(
                    f"ALTER TABLE {PRODUCTS} ALTER COLUMN sku_key"
                    " SET EXPRESSION AS (products_sku_key(sku))",
                    f"ALTER TABLE {PRODUCTS} ALTER COLUMN sku_key SET EXPRESSION AS (lower(sku))",
                ),
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="product",
                    name="sku_key",
                    field=models.GeneratedField(
                        db_persist=True,
                        expression=products.sku.SkuKey("sku"),
                        output_field=models.TextField(),
                    ),
                )
            ],
        ),
        migrations.RunPython(report_invisible_characters, migrations.RunPython.noop),
    ]
