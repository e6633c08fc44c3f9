"""A dry run's changes, and what an import changed, as the API gives them: pages of JSON and a
streamed CSV; and the catalog template.

The changes are numbered 1, 2, ... in SKU order (`JobChange.seq`), so a page of them is a
range of `seq`, however deep, with no count (the job's counts give it). An import's creates
follow its updates: they are the products of its `written_at`, in the order of their ids.
"""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any, Final

from asgiref.sync import sync_to_async
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer
from rest_framework.utils.urls import remove_query_param, replace_query_param

from core.csv_safety import SafeCsvWriter
from products.models import Product

from .models import Job, JobChange

# The columns of a job's changes (`changes/` and `changes.csv`), in this order.
CHANGE_COLUMNS: Final = [
    "action", "sku", "name", "description", "active",
    "previous_sku", "previous_name", "previous_description", "previous_active",
]  # fmt: skip
PAGE_SIZE: Final = 50
CSV_CHUNK_ROWS: Final = 5000
# The changes' CSV is a stream: served by Django's ASGI handler (product_importer.asgi).
CHANGES_CSV_PATH: Final = re.compile(r"/api/jobs/[0-9a-fA-F-]{36}/changes\.csv")
TEMPLATE_CSV: Final = (
    "sku,name,description,active\r\n"
    'LAMP-001,Desk lamp,"Warm white, 40 W equivalent",true\r\n'
    "MUG-002,Stoneware mug,Holds 350 ml,false\r\n"
)


def changes_page(job: Job, first: int, size: int) -> list[JobChange]:
    """Changes first + 1 to first + size of the job's. A dry run's are its rows, in SKU order.
    An import's are its before-images, the products it updated (in SKU order), then the products
    it created, as they are now (in the order it created them: SKU order), found by its
    `written_at`: deleted since, they are not listed."""
    if job.dry_run:
        return list(
            JobChange.objects.filter(job=job, seq__gt=first, seq__lte=first + size).order_by("seq")
        )
    updated = job.updated_count
    page = list(
        JobChange.objects.filter(
            job=job, action=JobChange.Action.UPDATE, seq__gt=first, seq__lte=first + size
        ).order_by("seq")
    )
    if len(page) < size and first + size > updated and job.written_at is not None:
        start = max(0, first - updated)
        created = Product.objects.filter(created_at=job.written_at).order_by("id")
        page += [as_created(p) for p in created[start : start + size - len(page)]]
    return page


def as_created(product: Product) -> JobChange:
    return JobChange(
        action=JobChange.Action.CREATE,
        product_id=product.pk,
        sku=product.sku,
        name=product.name,
        description=product.description,
        active=product.active,
    )


class ChangesPagination:
    """DRF's page-number shape (`count`, `next`, `previous`, `results`) over `seq` ranges."""

    def respond(self, request: Request, job: Job, serializer: type[Serializer[Any]]) -> Response:
        count = job.created_count + job.updated_count
        number = self._page_number(request, count)
        first = (number - 1) * PAGE_SIZE
        changes = changes_page(job, first, PAGE_SIZE)
        url = request.build_absolute_uri()
        previous = None
        if number > 1:
            previous = (
                replace_query_param(url, "page", number - 1)
                if number > 2
                else remove_query_param(url, "page")
            )
        return Response(
            {
                "count": count,
                "next": replace_query_param(url, "page", number + 1)
                if first + PAGE_SIZE < count
                else None,
                "previous": previous,
                "results": serializer(changes, many=True).data,
            }
        )

    @staticmethod
    def _page_number(request: Request, count: int) -> int:
        raw = request.query_params.get("page", "1")
        pages = max(1, -(-count // PAGE_SIZE))
        if not raw.isdigit() or not 1 <= int(raw) <= pages:
            raise NotFound(f"Invalid page: pages are 1 to {pages:,}.")
        return int(raw)


def _recorded(job: Job, after: int) -> list[JobChange]:
    """The next chunk of the job's recorded changes (a dry run's, or an import's updates)."""
    return list(
        JobChange.objects.filter(job=job, seq__gt=after, seq__lte=after + CSV_CHUNK_ROWS).order_by(
            "seq"
        )
    )


def _created(written_at: datetime, after_id: int) -> list[JobChange]:
    """The next chunk of the products an import created (at `written_at`), after `after_id`."""
    created = Product.objects.filter(created_at=written_at, pk__gt=after_id).order_by("id")
    return [as_created(product) for product in created[:CSV_CHUNK_ROWS]]


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


async def changes_csv(job: Job) -> AsyncIterator[bytes]:
    """The header, then every change in the order of `changes_page`, a chunk of CSV at a time
    (formula cells escaped: `core.csv_safety`); a create's `previous_` cells are empty. An
    import's creates are read after the last one's id, however many."""
    buffer = io.StringIO()
    writer = SafeCsvWriter(buffer)
    writer.writerow(CHANGE_COLUMNS)
    after = 0
    while True:
        rows = await sync_to_async(_recorded)(job, after)
        yield _csv(writer, buffer, rows)
        if len(rows) < CSV_CHUNK_ROWS:
            break
        after += CSV_CHUNK_ROWS
    if job.dry_run or job.written_at is None:
        return
    after_id = 0
    while rows := await sync_to_async(_created)(job.written_at, after_id):
        yield _csv(writer, buffer, rows)
        after_id = rows[-1].product_id or 0


def _csv(writer: SafeCsvWriter, buffer: io.StringIO, changes: list[JobChange]) -> bytes:
    for change in changes:
        writer.writerow([_cell(getattr(change, column)) for column in CHANGE_COLUMNS])
    chunk = buffer.getvalue().encode()
    buffer.seek(0)
    buffer.truncate()
    return chunk
