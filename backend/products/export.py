"""CSV export of a product query, streamed in keyset pages so memory stays flat at any size."""

import io
from collections.abc import AsyncIterator

from asgiref.sync import sync_to_async
from django.db.models import QuerySet

from core.csv_safety import SafeCsvWriter

from .models import Product

EXPORT_COLUMNS = ["sku", "name", "description", "active", "created_at", "updated_at"]
CHUNK_ROWS = 5000


def _rows(queryset: QuerySet[Product], after_id: int) -> list[tuple[int, list[str]]]:
    products = queryset.filter(id__gt=after_id).order_by("id")[:CHUNK_ROWS]
    return [
        (
            p.id,
            [
                p.sku,
                p.name,
                p.description,
                "true" if p.active else "false",
                p.created_at.isoformat(),
                p.updated_at.isoformat(),
            ],
        )
        for p in products
    ]


async def export_csv(queryset: QuerySet[Product]) -> AsyncIterator[bytes]:
    """Yield the header, then the products in id order, one chunk of CSV at a time (formula
    cells escaped: `core.csv_safety`)."""
    buffer = io.StringIO()
    writer = SafeCsvWriter(buffer)
    writer.writerow(EXPORT_COLUMNS)
    after_id = 0
    while True:
        rows = await sync_to_async(_rows)(queryset, after_id)
        for _, cells in rows:
            writer.writerow(cells)
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
        if len(rows) < CHUNK_ROWS:
            return
        after_id = rows[-1][0]
