from django.db.models import Value
from rest_framework import serializers

from .models import Product
from .services import duplicate_sku_message
from .sku import SkuKey, sku_problem


class ProductSerializer(serializers.ModelSerializer[Product]):
    class Meta:
        model = Product
        fields = ["id", "name", "sku", "description", "active", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]

    def validate_sku(self, value: str) -> str:
        """Trimmed already (DRF's `trim_whitespace`); the taken key is the database's."""
        problem = sku_problem(value)
        if problem is not None:
            raise serializers.ValidationError(f"The SKU {problem}.")
        taken = Product.objects.filter(sku_key=SkuKey(Value(value)))
        if self.instance is not None:
            taken = taken.exclude(pk=self.instance.pk)
        existing = taken.values_list("sku", flat=True).first()
        if existing is not None:
            raise serializers.ValidationError(duplicate_sku_message(value, existing=existing))
        return value
