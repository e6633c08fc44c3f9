"""Putting the catalog back as it was before a job: the SQL of a revert (`jobs.kinds.revert`).

Two sources of before-images, both kept by the jobs app:

- an import's changes (`changes_table`, one row per product it updated, with the product as it
  was) and its timestamp (the `created_at` of each product it created): the revert deletes what
  the import created and gives what it updated its previous values back, exactly (`updated_at`
  too);
- a bulk delete's copy of every product it deleted, in PostgreSQL's binary COPY format
  (`copy_out_products`): the revert inserts them again, each with its id and timestamps.

A product that was changed since the job (it is not as the job left it: other values, or for one it
created, another `updated_at`) is a conflict: left as it is, unless forced. Each runs in the
caller's transaction, in chunks that the caller reports progress between; the plan of the revert is
a temporary table dropped at the commit.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any, Final

import psycopg

from .bulk import PRODUCT_TABLE, sku_key_sql

# A product's own columns, as a bulk delete keeps them and its revert puts them back.
PRODUCT_COLUMNS: Final = ("id", "sku", "name", "description", "active", "created_at", "updated_at")
COPY_TYPES: Final = ["int8", "text", "text", "text", "bool", "timestamptz", "timestamptz"]
COPY_OUT_SQL: Final = (
    f"COPY (SELECT {', '.join(PRODUCT_COLUMNS)} FROM {PRODUCT_TABLE}) TO STDOUT (FORMAT BINARY)"
)
COPY_CHUNK_BYTES: Final = 1 << 20

# Why a product is left as it is (or, forced, reverted anyway): the conflicts' report says.
CHANGED_SINCE: Final = "changed since"
DELETED_SINCE: Final = "deleted since"
SKU_TAKEN: Final = "its SKU was created again since"

# An import's revert: each product it updated, from its before-image, with the product as it is
# now (none if deleted since); then each it created, found by the import's timestamp (its
# `created_at`, and its `updated_at` until it changed), numbered on.
IMPORT_PLAN_SQL: Final = f"""
CREATE TEMPORARY TABLE revert_plan ON COMMIT DROP AS
SELECT c.seq, c.action, c.product_id, c.sku,
    c.previous_sku, c.previous_name, c.previous_description, c.previous_active,
    c.previous_created_at, c.previous_updated_at,
    CASE WHEN p.id IS NULL THEN '{DELETED_SINCE}'
        WHEN (p.sku, p.name, p.description, p.active)
            IS DISTINCT FROM (c.sku, c.name, c.description, c.active) THEN '{CHANGED_SINCE}'
    END AS conflict,
    p.id IS NOT NULL AS present
FROM {{changes}} c LEFT JOIN {PRODUCT_TABLE} p ON p.id = c.product_id
WHERE c.job_id = %(job)s AND c.action = 'update'
UNION ALL
SELECT %(updated)s + row_number() OVER (ORDER BY p.id), 'create', p.id, p.sku,
    NULL, NULL, NULL, NULL, NULL, NULL,
    CASE WHEN p.updated_at <> %(written_at)s THEN '{CHANGED_SINCE}' END, true
FROM {PRODUCT_TABLE} p WHERE p.created_at = %(written_at)s
"""
# The products of a chunk of the plan (seq in a range) that the revert may touch.
IN_CHUNK: Final = "r.seq > %s AND r.seq <= %s AND (r.conflict IS NULL OR %s)"
DELETE_CREATED_SQL: Final = (
    f"DELETE FROM {PRODUCT_TABLE} p USING revert_plan r"
    f" WHERE {IN_CHUNK} AND r.action = 'create' AND r.present AND p.id = r.product_id"
)
RESTORE_UPDATED_SQL: Final = (
    f"UPDATE {PRODUCT_TABLE} p SET sku = r.previous_sku, name = r.previous_name,"
    " description = r.previous_description, active = r.previous_active,"
    " updated_at = r.previous_updated_at"
    f" FROM revert_plan r WHERE {IN_CHUNK} AND r.action = 'update' AND r.present"
    " AND p.id = r.product_id"
)
# Forced only: a product that the import updated, deleted since, comes back as it was before
# the import, unless its SKU belongs to another product now.
RECREATE_UPDATED_SQL: Final = (
    f"INSERT INTO {PRODUCT_TABLE} ({', '.join(PRODUCT_COLUMNS)})"
    " SELECT r.product_id, r.previous_sku, r.previous_name, r.previous_description,"
    " r.previous_active, r.previous_created_at, r.previous_updated_at FROM revert_plan r"
    f" WHERE {IN_CHUNK} AND r.action = 'update' AND NOT r.present ON CONFLICT DO NOTHING"
)
IMPORT_CONFLICTS_SQL: Final = (
    "SELECT r.sku, r.conflict, r.action FROM revert_plan r WHERE r.conflict IS NOT NULL"
    " ORDER BY r.seq"
)

# A bulk delete's revert: its copy of the products, staged, then inserted again.
STAGE_DELETED_SQL: Final = """
CREATE TEMPORARY TABLE revert_deleted (
    id bigint, sku text, name text, description text, active boolean,
    created_at timestamptz, updated_at timestamptz
) ON COMMIT DROP
"""
COPY_IN_SQL: Final = (
    f"COPY revert_deleted ({', '.join(PRODUCT_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
)
DELETED_PLAN_SQL: Final = f"""
CREATE TEMPORARY TABLE revert_plan ON COMMIT DROP AS
SELECT d.*, (p.id IS NOT NULL) AS taken
FROM revert_deleted d LEFT JOIN {PRODUCT_TABLE} p ON p.sku_key = {sku_key_sql("d.sku")}
"""
PLAN_PAGES_SQL: Final = (
    "SELECT pg_relation_size('pg_temp.revert_plan') / current_setting('block_size')::bigint"
)
IN_PAGES: Final = "r.ctid >= %s::tid AND r.ctid < %s::tid"
# Forced only: the product that took a deleted product's SKU since makes way for it.
REMOVE_TAKERS_SQL: Final = (
    f"DELETE FROM {PRODUCT_TABLE} p USING revert_plan r WHERE {IN_PAGES} AND r.taken"
    f" AND p.sku_key = {sku_key_sql('r.sku')}"
)
RESTORE_DELETED_SQL: Final = (
    f"INSERT INTO {PRODUCT_TABLE} ({', '.join(PRODUCT_COLUMNS)})"
    f" SELECT {', '.join(f'r.{column}' for column in PRODUCT_COLUMNS)} FROM revert_plan r"
    f" WHERE {IN_PAGES} AND (NOT r.taken OR %s)"
)
DELETED_CONFLICTS_SQL: Final = (
    f"SELECT r.sku, '{SKU_TAKEN}', 'delete' FROM revert_plan r WHERE r.taken ORDER BY r.id"
)


@dataclass(frozen=True)
class Reverted:
    """What a chunk of a revert did."""

    deleted: int = 0
    restored: int = 0
    recreated: int = 0

    def __add__(self, other: Reverted) -> Reverted:
        return Reverted(
            self.deleted + other.deleted,
            self.restored + other.restored,
            self.recreated + other.recreated,
        )


def copy_out_products(conn: psycopg.Connection[Any], into: IO[bytes]) -> None:
    """Every product, in binary COPY format, written to `into`: a bulk delete's before-images."""
    with conn.cursor().copy(COPY_OUT_SQL) as copy:
        for block in copy:
            into.write(block)


def plan_import_revert(
    cursor: psycopg.Cursor[Any],
    changes_table: str,
    *,
    job_id: object,
    updated: int,
    written_at: datetime | None,
) -> int:
    """The plan of an import's revert (`revert_plan`, by `seq`): the job's `updated` changes,
    then the products created at `written_at`; answers its last seq."""
    cursor.execute(
        IMPORT_PLAN_SQL.format(changes=changes_table),
        {"job": job_id, "updated": updated, "written_at": written_at},
    )
    cursor.execute("CREATE INDEX ON revert_plan (seq)")
    cursor.execute("ANALYZE revert_plan")
    cursor.execute("SELECT coalesce(max(seq), 0) FROM revert_plan")
    row = cursor.fetchone()
    assert row is not None
    return int(row[0])


def revert_import_chunk(
    cursor: psycopg.Cursor[Any], after: int, last: int, *, force: bool
) -> Reverted:
    """Revert the plan's changes with `after` < seq <= `last`: delete what the import created,
    give what it updated its previous values back; conflicts only if `force`."""
    params = (after, last, force)
    cursor.execute(DELETE_CREATED_SQL, params)
    deleted = cursor.rowcount
    cursor.execute(RESTORE_UPDATED_SQL, params)
    restored = cursor.rowcount
    recreated = 0
    if force:
        cursor.execute(RECREATE_UPDATED_SQL, params)
        recreated = cursor.rowcount
    return Reverted(deleted=deleted, restored=restored, recreated=recreated)


def stage_deleted_products(cursor: psycopg.Cursor[Any], source: IO[bytes]) -> int:
    """A bulk delete's copy of the products (`copy_out_products`) into the plan of its revert
    (`revert_plan`), each marked if its SKU was taken again since; answers the plan's pages."""
    cursor.execute(STAGE_DELETED_SQL)
    with cursor.copy(COPY_IN_SQL) as copy:
        while block := source.read(COPY_CHUNK_BYTES):
            copy.write(block)
    cursor.execute(DELETED_PLAN_SQL)
    cursor.execute(PLAN_PAGES_SQL)
    row = cursor.fetchone()
    assert row is not None
    return int(row[0])


def restore_deleted_chunk(
    cursor: psycopg.Cursor[Any], first_page: int, end_page: int, *, force: bool
) -> Reverted:
    """Insert again the plan's products on pages [first_page, end_page); a product whose SKU was
    taken since only if `force` (the product that took it is deleted)."""
    pages = (f"({first_page},0)", f"({end_page},0)")
    deleted = 0
    if force:
        cursor.execute(REMOVE_TAKERS_SQL, pages)
        deleted = cursor.rowcount
    cursor.execute(RESTORE_DELETED_SQL, (*pages, force))
    return Reverted(deleted=deleted, recreated=cursor.rowcount)


def conflicts(cursor: psycopg.Cursor[Any], *, of_import: bool) -> Iterator[tuple[str, str, str]]:
    """The plan's conflicts: SKU, reason, and the action of the job that it concerns."""
    cursor.execute(IMPORT_CONFLICTS_SQL if of_import else DELETED_CONFLICTS_SQL)
    while rows := cursor.fetchmany(5000):
        yield from rows
