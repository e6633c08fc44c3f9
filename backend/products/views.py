from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from imports import services as import_services
from imports.serializers import JobSerializer

from . import services
from .export import export_csv
from .filters import ProductFilter
from .models import Product
from .pagination import ProductPagination
from .serializers import ProductSerializer


class ProductViewSet(viewsets.ModelViewSet[Product]):
    """Products: list, filter, search, create, edit and delete.

    Filters: `?sku=` (exact, any letter case), `?name=` and `?description=` (contains, any case),
    `?active=true|false`, `?search=` (SKU, name and description), `?ordering=` (id, name, sku,
    created_at, updated_at; `-` for descending), `?page=` and `?page_size=` (up to 100).
    """

    queryset = Product.objects.all()
    serializer_class = ProductSerializer
    filterset_class = ProductFilter
    pagination_class = ProductPagination

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
        request={
            "multipart/form-data": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary"}},
            }
        },
        responses={202: JobSerializer},
    )
    @action(detail=False, methods=["post"], parser_classes=[MultiPartParser])
    def upload(self, request: Request) -> Response:
        """Upload a catalog (.csv or .csv.gz, multipart field `file`): 202 with the import job.

        SKUs are matched in any letter case; later rows and later imports overwrite earlier ones.
        """
        import_services.check_upload_size(int(request.META.get("CONTENT_LENGTH") or 0))
        job = import_services.create_import_job(upload=request.FILES.get("file"))
        return Response(JobSerializer(job, context={"request": request}).data, status=202)

    @extend_schema(request=None, responses={202: JobSerializer})
    @action(detail=False, methods=["post"])
    def bulk_delete(self, request: Request) -> Response:
        """Delete every product, asynchronously: 202 with the job to follow."""
        job = import_services.create_bulk_delete_job()
        return Response(JobSerializer(job, context={"request": request}).data, status=202)

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.STR})
    @action(detail=False, methods=["get"])
    def export(self, request: Request) -> StreamingHttpResponse:
        """The filtered products as CSV (same query parameters as the list), streamed."""
        queryset = self.filter_queryset(self.get_queryset())
        response = StreamingHttpResponse(export_csv(queryset), content_type="text/csv")
        response["Content-Disposition"] = 'attachment; filename="products.csv"'
        return response
