from collections.abc import AsyncIterator

from asgiref.sync import sync_to_async
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.request import Request

from core.db import lift_statement_timeout
from core.permissions import Rule
from core.schema import error_response

from . import services
from .export import export_csv
from .filters import ProductFilter
from .models import Product
from .pagination import ProductPagination
from .serializers import ProductSerializer

# `?active=true|false`: a boolean in the schema (drf-spectacular would write a boolean that only
# the strings "true" and "false" may be, which no value is).
ACTIVE = OpenApiParameter("active", OpenApiTypes.BOOL, description="Active or inactive products.")


# A write to a product that the running import is writing (docs/api.md, ADR 17).
BEING_IMPORTED = error_response("The product is being imported; try again after Retry-After s.")


@extend_schema_view(
    list=extend_schema(parameters=[ACTIVE]),
    create=extend_schema(responses={201: ProductSerializer, 409: BEING_IMPORTED}),
    update=extend_schema(responses={200: ProductSerializer, 409: BEING_IMPORTED}),
    partial_update=extend_schema(responses={200: ProductSerializer, 409: BEING_IMPORTED}),
    destroy=extend_schema(responses={204: None, 409: BEING_IMPORTED}),
)
class ProductViewSet(viewsets.ModelViewSet[Product]):
    """Products: list, filter, search, create, edit and delete.

    Filters: `?sku=` (exact, as SKUs are matched: letter case, Unicode form and spaces aside),
    `?name=` and `?description=` (contains, any case), `?active=true|false`, `?search=` (SKU, name
    and description), `?ordering=` (id, name, sku, created_at, updated_at; `-` for descending),
    `?page=` and `?page_size=` (up to 100).
    """

    queryset = Product.objects.all()
    serializer_class = ProductSerializer
    filterset_class = ProductFilter
    pagination_class = ProductPagination
    required_permissions = {
        "list": Rule("products.view_product", "read products"),
        "retrieve": Rule("products.view_product", "read products"),
        "export": Rule("products.view_product", "export products"),
        "create": Rule("products.add_product", "add products"),
        "update": Rule("products.change_product", "edit products"),
        "partial_update": Rule("products.change_product", "edit products"),
        "destroy": Rule("products.delete_product", "delete products"),
    }

    def perform_create(self, serializer: ProductSerializer) -> None:  # type: ignore[override]
        serializer.instance = services.create_product(**serializer.validated_data)

    def perform_update(self, serializer: ProductSerializer) -> None:  # type: ignore[override]
        assert serializer.instance is not None
        serializer.instance = services.update_product(
            product=serializer.instance, **serializer.validated_data
        )

    def perform_destroy(self, instance: Product) -> None:
        services.delete_product(product=instance)

    @extend_schema(
        filters=True, parameters=[ACTIVE], responses={(200, "text/csv"): OpenApiTypes.STR}
    )
    @action(detail=False, methods=["get"])
    def export(self, request: Request) -> StreamingHttpResponse:
        """The filtered products as CSV (same query parameters as the list), streamed, free of
        API_STATEMENT_TIMEOUT: a whole catalog may take longer."""
        queryset = self.filter_queryset(self.get_queryset())
        response = StreamingHttpResponse(_unbounded(export_csv(queryset)), content_type="text/csv")
        response["Content-Disposition"] = 'attachment; filename="products.csv"'
        return response


async def _unbounded(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """`chunks`, read with no statement timeout on the connection that reads them."""
    await sync_to_async(lift_statement_timeout)()
    async for chunk in chunks:
        yield chunk
