"""The app's URLs, plus the benchmark's two bare views (`benchmarks.settings` only): a Django
view that answers a few bytes, and a DRF view that serializes 25 products held in memory. Both
pass the app's middleware; neither authenticates, throttles or reads the database."""

from datetime import UTC, datetime

from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from products.models import Product

BARE_DJANGO_PATH = "/bench/django/"
BARE_DRF_PATH = "/bench/drf/"
_NOW = datetime(2026, 1, 1, tzinfo=UTC)
PRODUCTS = [
    Product(
        id=n,
        name=f"Product {n}",
        sku=f"BENCH-{n:05}",
        description="A product held in memory, to serialize. " * 3,
        active=True,
        created_at=_NOW,
        updated_at=_NOW,
    )
    for n in range(1, 26)
]


class BareProductSerializer(serializers.ModelSerializer[Product]):
    """DRF's own ModelSerializer of the product's fields, not the app's (which is faster)."""

    class Meta:
        model = Product
        fields = ["id", "name", "sku", "description", "active", "created_at", "updated_at"]


def bare_django(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b"ok", content_type="text/plain")


class BareDrf(APIView):
    authentication_classes = ()
    permission_classes = (AllowAny,)
    throttle_classes = ()

    def get(self, request: Request) -> Response:
        return Response({"results": BareProductSerializer(PRODUCTS, many=True).data})


urlpatterns = [
    path(BARE_DJANGO_PATH.strip("/") + "/", bare_django),
    path(BARE_DRF_PATH.strip("/") + "/", BareDrf.as_view()),
    path("", include("product_importer.urls")),
]
