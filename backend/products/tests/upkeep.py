"""Test helpers for the search upkeep (`products.search_upkeep`)."""

import contextlib
from collections.abc import Iterator

import psycopg

from core.db import psycopg_params
from products.models import Product, ProductSearch, ProductSearchPending
from products.search_upkeep import UPKEEP_LOCK_KEY


@contextlib.contextmanager
def upkeep_paused() -> Iterator[None]:
    """The search upkeep held off, its lock taken by a connection of the test's own: the syncs
    that the test's writes queue skip, and the pending marks stay as the writes left them."""
    with psycopg.connect(**psycopg_params(), autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", [UPKEEP_LOCK_KEY])
        yield


def pending_ids() -> set[int]:
    return set(ProductSearchPending.objects.values_list("product_id", flat=True))


def search_rows() -> dict[int, tuple[str, str, str]]:
    rows = ProductSearch.objects.values_list("product_id", "sku", "name", "description")
    return {pk: (sku, name, description) for pk, sku, name, description in rows}


def assert_search_table_exact() -> None:
    """The search table mirrors the catalog, and nothing is pending."""
    expected = {
        p.pk: (p.sku.lower(), p.name.lower(), p.description.lower()) for p in Product.objects.all()
    }
    assert search_rows() == expected
    assert pending_ids() == set()
