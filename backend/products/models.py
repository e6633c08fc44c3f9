"""The catalog: products, and the trigram search table kept beside them."""

from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

from .sku import SkuKey


class Product(models.Model):
    """A product; its SKU is its identity, unique in any letter case and Unicode form.

    `sku` keeps the spelling as written; `sku_key` is the database's `products_sku_key(sku)`
    (normalized, trimmed, case-folded: `products.sku`), unique, so two writers can never store
    "ABC-1" and "abc-1", or an NFC "CAFÉ" and an NFD one, side by side. Text, not 255 characters:
    normalization and folding can lengthen a SKU.
    """

    name = models.CharField(max_length=255)
    sku = models.CharField(max_length=255)
    sku_key = models.GeneratedField(
        expression=SkuKey("sku"),
        output_field=models.TextField(),
        db_persist=True,
    )
    description = models.TextField(blank=True, default="")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["sku_key"], name="product_sku_key_unique"),
        ]
        # Sorting keys for `?ordering=`, each with the id that breaks ties: one import gives
        # every row the same timestamps, and a page must not need a sort of all of them. Deep
        # pages skip rows index-only (ADR 18): the name's index includes `name`, without which
        # PostgreSQL reads the table to evaluate `lower(name)`; the SKU's order is its unique key.
        indexes = [
            models.Index(Lower("name"), "id", include=["name"], name="product_name_order_idx"),
            models.Index(fields=["created_at", "id"], name="product_created_at_id_idx"),
            models.Index(fields=["updated_at", "id"], name="product_updated_at_id_idx"),
            # `?active=false` finds its page at once even when (almost) no product is inactive;
            # small, as products are mostly active, and free for an import's new (active) rows.
            models.Index(fields=["id"], condition=Q(active=False), name="product_inactive_id_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.sku}: {self.name}"


class ProductSearch(models.Model):
    """A lower-cased copy of each product's SKU, name and description, under trigram indexes.

    Kept off the writers' path (see `products.search`): every write to a product marks it in
    `ProductSearchPending` (a trigger), and the search upkeep brings its row up to date soon after,
    or rebuilds the whole table after a large import. Until then, searches read a pending
    product's own columns instead of its search row.
    """

    product_id = models.BigIntegerField(primary_key=True)
    sku = models.TextField()
    name = models.TextField()
    description = models.TextField()

    class Meta:
        indexes = [
            GinIndex(OpClass("sku", name="gin_trgm_ops"), name="product_search_sku_trgm"),
            GinIndex(OpClass("name", name="gin_trgm_ops"), name="product_search_name_trgm"),
            GinIndex(
                OpClass("description", name="gin_trgm_ops"),
                name="product_search_desc_trgm",
            ),
        ]

    def __str__(self) -> str:
        return f"search row of product {self.product_id}"


class ProductCountDelta(models.Model):
    """A part of the product count: the count is the sum of all rows (`products.counts`).

    Statement-level triggers add a row of +n or -n for each statement that inserts or deletes
    products, and a TRUNCATE empties the table (migration 0006), so writers never share a row;
    readers fold the rows now and then. Counting the products instead would cost every unfiltered
    page a scan of the catalog.
    """

    delta = models.BigIntegerField()

    def __str__(self) -> str:
        return f"{self.delta:+} products"


class ProductSearchPending(models.Model):
    """A product whose search row may not match it: created, changed or deleted since the row was
    written. Statement-level triggers on the products add these rows in the writer's transaction
    (migration 0007); the search upkeep (`products.search_upkeep`) applies and deletes them.

    `version` is new with each statement that marks (a sequence), so a rebuild deletes only the
    marks it covered.
    """

    product_id = models.BigIntegerField(primary_key=True)
    version = models.BigIntegerField()

    def __str__(self) -> str:
        return f"search row of product {self.product_id} pending"


class SearchIndexState(models.Model):
    """A single row about `ProductSearch` as a whole.

    `generation` goes up when every product is deleted at once (a TRUNCATE): a rebuild only swaps
    its new table in if that did not happen while it was building. `rebuilt_at` is its last swap.
    """

    generation = models.BigIntegerField(default=0)
    rebuilt_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"search table, generation {self.generation}"
