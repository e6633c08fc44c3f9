"""The catalog's set-based writes, as SQL for a psycopg connection: what the jobs run.

An import (`jobs.engine`) and a bulk delete (`services.delete_all_products`) write the products
tables in one transaction on a connection of their own, beside Django's; the SQL that touches
those tables lives here, with the tables' names taken from the models.
"""

from collections.abc import Callable
from typing import Any, Final

import psycopg

from .counts import product_total
from .models import Product, ProductSearch, ProductSearchPending, SearchIndexState
from .search import WHOLE_CATALOG
from .search_upkeep import rebuild_pays
from .sku import KEY_FUNCTION

PRODUCT_TABLE: Final = Product._meta.db_table
SEARCH_TABLE: Final = ProductSearch._meta.db_table
SEARCH_PENDING_TABLE: Final = ProductSearchPending._meta.db_table
SEARCH_STATE_TABLE: Final = SearchIndexState._meta.db_table
# A rebuild of the search table under way when every product goes drops its copy instead of
# swapping it in (`products.search_upkeep`).
BUMP_SEARCH_GENERATION_SQL: Final = (
    f"INSERT INTO {SEARCH_STATE_TABLE} AS s (id, generation) VALUES (1, 1)"
    " ON CONFLICT (id) DO UPDATE SET generation = s.generation + 1"
)

# A write that leaves its products unmarked (migration 0009), then marks them all at once.
SEARCH_MARKS_OFF_SQL: Final = "SET LOCAL products.search_marks = 'off'"
MARK_WHOLE_CATALOG_SQL: Final = (
    f"INSERT INTO {SEARCH_PENDING_TABLE} (product_id, version)"
    f" VALUES ({WHOLE_CATALOG}, nextval('products_search_pending_version'))"
    " ON CONFLICT (product_id) DO UPDATE SET version = EXCLUDED.version"
)


# A product as it was before a job wrote it: the columns of a job's changes that keep it.
BEFORE_IMAGE: Final = (
    "previous_sku", "previous_name", "previous_description", "previous_active",
    "previous_created_at", "previous_updated_at",
)  # fmt: skip


def leave_search_marks_to_a_rebuild(cursor: psycopg.Cursor[Any], rows: int) -> bool:
    """Whether a write of up to `rows` products, about to run in the cursor's transaction, is
    one after which the search upkeep rebuilds anyway; if so, its products are not marked one
    by one for the rest of the transaction (4-5 s per 466,693 products, docs/benchmarks.md),
    and the caller must call `mark_whole_catalog` once it has written any."""
    if not rebuild_pays(rows, product_total(cursor)):
        return False
    cursor.execute(SEARCH_MARKS_OFF_SQL)
    return True


def mark_whole_catalog(cursor: psycopg.Cursor[Any]) -> None:
    """Every product pending for the search upkeep, in one row that this transaction holds until
    it ends: searches read the search table alone meanwhile (`search_catching_up`), and the next
    sync rebuilds it from the catalog."""
    cursor.execute(MARK_WHOLE_CATALOG_SQL)


def sku_key_sql(column: str) -> str:
    """The SKU key of `column`, as the catalog's unique `sku_key` computes it (`products.sku`):
    for a table of staged rows, so that they fall together exactly when they would collide."""
    return f"{KEY_FUNCTION}({column})"


def chunk_sql(source: str) -> str:
    """The next chunk of staged rows: the winners (newest rows) of the next LIMIT keys after a
    key, with how many staged rows each stands for. `source` is a table of staged rows
    (position, sku, name, description, active, sku_key), sorted by `sku_key`, then position
    newest first; the key and the LIMIT are the statement's first two parameters."""
    return (
        "chunk AS MATERIALIZED ("
        " SELECT DISTINCT ON (sku_key) sku_key, sku, name, description, active,"
        " count(*) OVER (PARTITION BY sku_key) AS copies"
        f" FROM {source} WHERE sku_key > %s ORDER BY sku_key, position DESC LIMIT %s)"
    )


def upsert_chunk_sql(
    *,
    source: str,
    has_description: bool,
    has_active: bool,
    update_existing: bool = True,
    changes_table: str | None = None,
) -> str:
    """Upsert the next chunk (`chunk_sql`).

    It answers how many products it created, how many it updated, how many staged rows it dealt
    with (duplicates included), the last key, and how many keys the chunk had. A product equal
    to its row (SKU spelling, name, and the description and active flag when the row gives them)
    is not written: the ON CONFLICT's WHERE leaves it, so it is neither returned nor counted as
    updated, and its `updated_at` stays. With `update_existing` False, every product that
    exists is left alone (DO NOTHING). When the file has an `active` column, the rows that give
    a value set it and the others keep the product's (two INSERTs over disjoint keys); a new
    product is active unless the file says otherwise. `xmax = 0` holds for a freshly inserted row
    and not for one updated by ON CONFLICT: that is how created and updated rows are told apart
    without sending a row back.

    With `changes_table`, it also records each product it updates there (a job's changes: the
    job's id and the updates recorded so far are the statement's next two parameters): the row
    as written and the product as it was, from the upsert's own `RETURNING old.*` (PostgreSQL
    18), numbered on in SKU order. A product it creates needs no record: the transaction's
    timestamp, its `created_at`, finds it (`products.restore`).
    """
    compared = ["sku", "name"] + (["description"] if has_description else [])
    variants = [("", compared)]
    if has_active:
        variants = [
            (" WHERE active IS NOT NULL", [*compared, "active"]),
            (" WHERE active IS NULL", compared),
        ]
    returning = "(xmax = 0) AS created"
    if changes_table is not None:
        returning += ", id, sku_key, sku, name, description, active, " + ", ".join(
            f"old.{column.removeprefix('previous_')} AS {column}" for column in BEFORE_IMAGE
        )
    inserts = []
    for number, (condition, columns) in enumerate(variants):
        if update_existing:
            assignments = [f"{column} = EXCLUDED.{column}" for column in columns]
            changed = " OR ".join(
                f"p.{column} IS DISTINCT FROM EXCLUDED.{column}" for column in columns
            )
            conflict = (
                f"DO UPDATE SET {', '.join(assignments)}, updated_at = EXCLUDED.updated_at"
                f" WHERE {changed}"
            )
        else:
            conflict = "DO NOTHING"
        inserts.append(
            f"written_{number} AS (INSERT INTO {PRODUCT_TABLE} AS p"
            " (sku, name, description, active, created_at, updated_at)"
            " SELECT sku, name, coalesce(description, ''), coalesce(active, true), now(), now()"
            f" FROM chunk{condition}"
            f" ON CONFLICT (sku_key) {conflict}"
            f" RETURNING {returning})"
        )
    written = " UNION ALL ".join(f"SELECT * FROM written_{n}" for n in range(len(variants)))
    recorded = ""
    if changes_table is not None:
        recorded = (
            f", recorded AS (INSERT INTO {changes_table} (job_id, seq, action, product_id, sku,"
            f" name, description, active, {', '.join(BEFORE_IMAGE)})"
            ' SELECT %s, %s + row_number() OVER (ORDER BY sku_key COLLATE "C"),'
            " 'update', id, sku, name, description,"
            f" active, {', '.join(BEFORE_IMAGE)} FROM written WHERE NOT created)"
        )
    return (
        f"WITH {chunk_sql(source)}, {', '.join(inserts)},"
        f" written AS ({written}){recorded}"
        " SELECT (SELECT count(*) FILTER (WHERE created) FROM written),"
        " (SELECT count(*) FILTER (WHERE NOT created) FROM written),"
        " coalesce(sum(copies), 0)::bigint, max(sku_key), count(*) FROM chunk"
    )


def delete_all_products(
    conn: psycopg.Connection[Any], keep: Callable[[int], None] | None = None
) -> int:
    """Every product and its search rows, in one transaction: TRUNCATE, milliseconds at any size.

    Answers how many products there were: counted once the table lock has let every writer
    finish, and before the TRUNCATE (which takes that lock anyway) lets the next one in. With
    `keep`, it is called with that count before the TRUNCATE, in the transaction, to keep the
    products (`restore.copy_out_products`): an exception from it deletes nothing.
    """
    with conn.transaction():
        conn.execute(f"LOCK TABLE {PRODUCT_TABLE} IN ACCESS EXCLUSIVE MODE")
        deleted = product_total(conn.cursor())
        if keep is not None:
            keep(deleted)
        conn.execute(f"TRUNCATE {PRODUCT_TABLE}, {SEARCH_TABLE}, {SEARCH_PENDING_TABLE}")
        conn.execute(BUMP_SEARCH_GENERATION_SQL)
    return deleted
