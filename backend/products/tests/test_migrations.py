"""Migration 0005 recomputes the SKU keys, stops on products that would share one, and goes back."""

import importlib
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

pytestmark = pytest.mark.django_db(transaction=True)

migration = importlib.import_module("products.migrations.0005_sku_key_unicode")

PRODUCT_SQL = """
    INSERT INTO products_product (name, sku, description, active, created_at, updated_at)
    VALUES (%s, %s, '', true, now(), now()) RETURNING id
"""


def rows(sql: str) -> list[tuple[object, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        found: list[tuple[object, ...]] = cursor.fetchall()
    return found


def insert(*skus: str) -> list[int]:
    ids = []
    with connection.cursor() as cursor:
        for sku in skus:
            cursor.execute(PRODUCT_SQL, [f"name of {sku}", sku])
            ids.append(cursor.fetchone()[0])
    return ids


def key_column() -> list[tuple[object, ...]]:
    return rows(
        "SELECT data_type, generation_expression FROM information_schema.columns"
        " WHERE table_name = 'products_product' AND column_name = 'sku_key'"
    )


def key_function_exists() -> bool:
    return rows("SELECT count(*) FROM pg_proc WHERE proname = 'products_sku_key'") == [(1,)]


def migrate_forward() -> None:
    """Back to the latest migrations whatever the test left: no products, so no collision."""
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM products_product")
    call_command("migrate", verbosity=0)


def test_colliding_products_stop_the_migration_and_nothing_changes():
    call_command("migrate", "products", "0004", verbosity=0)
    try:
        # Two products each under lower(), one under the new key.
        nfc, nfd, upper, lower, other = insert("CAF\u00c9", "CAFE\u0301", "ΟΔΟΣ", "οδος", "x-1")
        before = rows("SELECT id, sku, sku_key FROM products_product ORDER BY id")

        with pytest.raises(CommandError) as raised:
            call_command("migrate", "products", "0005", verbosity=0)

        assert str(raised.value) == (
            "2 group(s) of products would share a SKU under the new SKU identity (letter case "
            "folded, Unicode normalized with NFKC, spaces trimmed), and a SKU is unique:\n"
            f"  'CAF\u00c9' (id {nfc}), 'CAFE\u0301' (id {nfd}, not NFC: 'CAFE\\u0301')\n"
            f"  'ΟΔΟΣ' (id {upper}), 'οδος' (id {lower})\n"
            "Nothing was changed. Keep one product of each group: rename the others' SKUs "
            "(PATCH /api/products/<id>/ with a new sku, or the dashboard) or delete them, then "
            "run migrate again."
        )
        assert rows("SELECT id, sku, sku_key FROM products_product ORDER BY id") == before
        assert key_column() == [("character varying", "lower((sku)::text)")]
        assert not key_function_exists()
        assert rows(
            "SELECT count(*) FROM django_migrations WHERE app = 'products' AND name LIKE '0005%'"
        ) == [(0,)]

        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM products_product WHERE id IN (%s, %s)", [nfd, lower])
        call_command("migrate", "products", "0005", verbosity=0)
        assert rows("SELECT id, sku_key FROM products_product ORDER BY id") == [
            (nfc, "café"),
            (upper, "οδοσ"),
            (other, "x-1"),
        ]
        assert key_column() == [("text", "products_sku_key((sku)::text)")]

        call_command("migrate", "products", "0004", verbosity=0)
        assert rows("SELECT id, sku_key FROM products_product ORDER BY id") == [
            (nfc, "caf\u00e9"),
            (upper, "οδοσ"),
            (other, "x-1"),
        ]
        assert key_column() == [("character varying", "lower((sku)::text)")]
        assert not key_function_exists()
    finally:
        migrate_forward()


def test_skus_with_invisible_characters_are_kept_and_named(capsys):
    call_command("migrate", "products", "0004", verbosity=0)
    try:
        plain, hidden, bidi = insert("ZW1", "Z\u200bW1", "A\u202eB")
        capsys.readouterr()

        call_command("migrate", "products", "0005", verbosity=0)

        assert capsys.readouterr().out == (
            "\n2 product(s) have a SKU with invisible or control characters, which the API and "
            "the import now refuse; they are kept, but correct them:\n"
            f"  'Z\\u200bW1' (id {hidden})\n"
            f"  'A\\u202eB' (id {bidi})\n"
        )
        assert rows("SELECT id, sku FROM products_product ORDER BY id") == [
            (plain, "ZW1"),
            (hidden, "Z\u200bW1"),
            (bidi, "A\u202eB"),
        ]
    finally:
        migrate_forward()


def test_a_collision_list_is_capped():
    call_command("migrate", "products", "0004", verbosity=0)
    try:
        for n in range(migration.SHOWN + 5):
            insert(f"dup-{n}", f"DUP-{n}\u00a0")
        with pytest.raises(CommandError) as raised:
            call_command("migrate", "products", "0005", verbosity=0)
        message = str(raised.value)
        assert message.startswith(f"{migration.SHOWN + 5} group(s) of products would share")
        assert f"'dup-{migration.SHOWN - 1}'" in message
        assert f"'dup-{migration.SHOWN}'" not in message
        assert "  ... and 5 more groups\n" in message
    finally:
        migrate_forward()


@pytest.mark.parametrize(
    ("version", "encoding", "message"),
    [
        (170005, "UTF8", "This PostgreSQL is 17.5; the SKU key needs PostgreSQL 18 or newer"),
        (150012, "UTF8", "This PostgreSQL is 15.12; the SKU key needs PostgreSQL 18 or newer"),
        (180001, "LATIN1", "The database's encoding is LATIN1; the SKU key needs UTF8"),
    ],
)
def test_an_older_server_or_another_encoding_is_refused_with_words(version, encoding, message):
    class Cursor:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def execute(self, sql):
            assert sql == "SHOW server_encoding"

        def fetchone(self):
            return (encoding,)

    editor = SimpleNamespace(connection=SimpleNamespace(pg_version=version, cursor=Cursor))
    with pytest.raises(CommandError, match=message):
        migration.check_server(None, editor)


def test_a_stale_search_table_becomes_every_product_pending_and_back():
    """0007: a table an import had marked stale has every product pending, and back again."""
    call_command("migrate", "products", "0006", verbosity=0)
    try:
        ids = insert("lamp-1", "chair-2")
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO products_searchindexstate (id, fresh, generation) VALUES (1, false, 3)"
                " ON CONFLICT (id) DO UPDATE SET fresh = false"
            )
        call_command("migrate", "products", "0007", verbosity=0)
        assert rows("SELECT product_id FROM products_productsearchpending ORDER BY 1") == [
            (pk,) for pk in ids
        ]
        # The triggers mark what the next writes change.
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM products_productsearchpending")
            cursor.execute("UPDATE products_product SET name = 'Desk lamp' WHERE id = %s", [ids[0]])
        assert rows("SELECT product_id FROM products_productsearchpending") == [(ids[0],)]

        call_command("migrate", "products", "0006", verbosity=0)
        assert rows("SELECT fresh FROM products_searchindexstate") == [(False,)]
    finally:
        migrate_forward()
